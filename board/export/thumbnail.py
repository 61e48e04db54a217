"""
Board-list thumbnails: the whole board as a small PNG, drawn by the export SVG and resvg.

Shrunk to a thumbnail, two things of a full render go wrong: thin lines fade to nothing, and
every stroke point still costs its share of the SVG and of the rasteriser though many fall in
the same pixel. So lines are widened to THUMBNAIL_MIN_LINE_PX and stroke points closer than
THUMBNAIL_POINT_PX to the last one kept are dropped.

Pure and CPU-bound, like the rest of the worker side: no Django models.
"""

from __future__ import annotations

import math
from typing import Any

import resvg_py

from board.document import BoardState
from board.document.points import decode_points, encode_points
from board.export.errors import ExportError
from board.export.render import content_box, render_svg

#: Board-list thumbnails, px: shown at 160 x 100 CSS px, sharp on 2x screens.
THUMBNAIL_SIZE = (320, 200)
#: The thinnest line a thumbnail draws, px (one CSS px where it is shown at half size): shrunk
#: 50 times, a 4-unit pen line would be 0.08 px and fade away, leaving a big board blank.
THUMBNAIL_MIN_LINE_PX = 2.0
#: Stroke points nearer than this to the last point kept are left out, px: the line they draw
#: stays within its own width.
THUMBNAIL_POINT_PX = 1.0


def thumbnail_box(state: BoardState) -> tuple[float, float, float, float]:
    """
    The area a thumbnail shows: the content box widened to THUMBNAIL_SIZE's shape, centred,
    and at least THUMBNAIL_SIZE world units, so a small drawing is not magnified into a blur.
    """
    x, y, w, h = content_box(state)
    tw, th = THUMBNAIL_SIZE
    width = max(w, h * tw / th, tw)
    height = width * th / tw
    return (x - (width - w) / 2, y - (height - h) / 2, width, height)


def render_thumbnail(state: BoardState) -> bytes:
    """
    Return the board list's picture of the board: a THUMBNAIL_SIZE PNG of all its content.
    """
    box = thumbnail_box(state)
    svg = render_svg(thumbnail_state(state, box), pixel_size=THUMBNAIL_SIZE, box=box)
    try:
        return bytes(resvg_py.svg_to_bytes(svg_string=svg))
    except ValueError as exc:
        raise ExportError(f"The rasteriser refused the SVG: {exc}") from exc


def thumbnail_state(state: BoardState, box: tuple[float, float, float, float]) -> BoardState:
    """
    What the thumbnail of `box` draws of `state`: lines widened, stroke points thinned out.
    """
    units_per_px = box[2] / THUMBNAIL_SIZE[0]
    min_width, min_step = THUMBNAIL_MIN_LINE_PX * units_per_px, THUMBNAIL_POINT_PX * units_per_px
    elements = {key: _shrunk(el, min_width, min_step) for key, el in state.elements.items()}
    return BoardState(elements, state.seq)


def _shrunk(el: dict[str, Any], min_width: float, min_step: float) -> dict[str, Any]:
    """
    `el` as the thumbnail draws it: lines at least `min_width`, stroke points `min_step` apart.
    """
    changes: dict[str, Any] = {}
    if el["style"]["width"] < min_width:
        changes["style"] = {**el["style"], "width": min_width}
    if el["type"] == "stroke" and len(el.get("p") or ()) > 4 and min_step > 1:
        points = decode_points(el)
        kept = _spaced(points, min_step)
        if len(kept) < len(points):
            changes["p"] = encode_points([points[k] for k in kept], (el["x"], el["y"]))
            if el.get("pr"):
                changes["pr"] = [el["pr"][k] for k in kept]
    return {**el, **changes} if changes else el


def _spaced(points: list[tuple[int, int]], min_step: float) -> list[int]:
    """
    Indices of the points to keep: the first, each at least `min_step` from the last kept, and
    the last (a stroke's end is where its cap goes).
    """
    kept = [0]
    lx, ly = points[0]
    for k in range(1, len(points) - 1):
        x, y = points[k]
        if math.hypot(x - lx, y - ly) >= min_step:
            kept.append(k)
            lx, ly = x, y
    kept.append(len(points) - 1)
    return kept
