"""
What one export shows: its options (padding, background, scale, selection, frame, dark mode)
and the board state and picture they select.

The options come from the export endpoint's query (api.exports parses them); everything here is
pure and runs in the export worker, like board.export.render. A default ExportOptions renders
exactly what an export without options always did.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from board.document import BoardState, bbox
from board.document.geometry import union
from board.export.dark import dark_color, dark_element
from board.export.errors import ExportOptionError
from board.export.render import (
    BACKGROUND,
    EMPTY_SIDE,
    MARGIN,
    PNG_MAX_PIXELS,
    box_pixels,
    rasterise,
    render_json_bytes,
    render_svg,
)
from board.export.render_shapes import DARK_INK, LIGHT_INK

#: Padding bounds, world units: a frame of more than 512 units around a drawing is a mistake.
PADDING_MAX = 512
#: PNG scale bounds, px per world unit: below 0.1 an export is a smudge, above 4 the pixel
#: bound (render.PNG_MAX_PIXELS) shrinks most boards back anyway.
SCALE_MIN = 0.1
SCALE_MAX = 4.0

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """
    One export's options; hashable, so it is part of the export cache's key.
    """

    #: Empty space around the content (or the frame), world units.
    padding: int = MARGIN
    #: False: a transparent PNG, an SVG without its background rectangle.
    background: bool = True
    #: PNG pixels per world unit (and the SVG's width/height per unit).
    scale: float = 1.0
    #: Only these elements (the selection); None: every element.
    ids: tuple[str, ...] | None = None
    #: Only the region of this frame element, clipped to it.
    frame: str | None = None
    #: Colours as the dark canvas shows them (board.export.dark).
    dark: bool = False


def select(state: BoardState, options: ExportOptions) -> tuple[BoardState, Box | None]:
    """
    The elements `options` export, and the frame's box to clip to (None: no frame).

    Raises ExportOptionError when `frame` names no frame on the board at this seq.
    """
    elements = state.elements
    if options.ids is not None:
        wanted = set(options.ids)
        elements = {k: el for k, el in elements.items() if k in wanted}
    clip: Box | None = None
    if options.frame is not None:
        frame = state.elements.get(options.frame)
        if frame is None or frame.get("type") != "frame":
            raise ExportOptionError(
                "frame", f"No frame {options.frame!r} on the board at this seq."
            )
        x, y, w, h = frame["x"], frame["y"], frame["w"], frame["h"]
        clip = (min(x, x + w), min(y, y + h), abs(w), abs(h))
        elements = {k: el for k, el in elements.items() if _meets(bbox(el), clip)}
    if options.dark:
        elements = {k: dark_element(el) for k, el in elements.items()}
    if elements is state.elements:
        return state, clip
    return BoardState(elements=elements, seq=state.seq), clip


def _meets(b: tuple[float, float, float, float], clip: Box) -> bool:
    x, y, w, h = clip
    return b[0] <= x + w and b[2] >= x and b[1] <= y + h and b[3] >= y


def export_box(state: BoardState, padding: int, clip: Box | None) -> Box:
    """
    The exported area (x, y, width, height): the frame or the content, plus `padding`.
    """
    if clip is not None:
        x, y, w, h = clip
        return (x - padding, y - padding, w + 2 * padding, h + 2 * padding)
    box = union([bbox(el) for el in state.elements.values()])
    if box is None:
        return (0, 0, EMPTY_SIDE, EMPTY_SIDE)
    minx, miny, maxx, maxy = math.floor(box[0]), math.floor(box[1]), box[2], box[3]
    return (
        minx - padding,
        miny - padding,
        math.ceil(maxx) - minx + 2 * padding,
        math.ceil(maxy) - miny + 2 * padding,
    )


def _svg(state: BoardState, options: ExportOptions, pixel_scale: float | None) -> str:
    selected, clip = select(state, options)
    box = export_box(selected, options.padding, clip)
    background = None
    if options.background:
        background = dark_color(BACKGROUND) if options.dark else BACKGROUND
    size: tuple[float, float] | None = None
    if pixel_scale is not None:
        size = box_pixels(box, pixel_scale, PNG_MAX_PIXELS)
    elif options.scale != 1:
        size = (box[2] * options.scale, box[3] * options.scale)
    ink = DARK_INK if options.dark else LIGHT_INK
    return render_svg(selected, pixel_size=size, box=box, background=background, clip=clip, ink=ink)


def _render_svg(state: BoardState, options: ExportOptions) -> bytes:
    return _svg(state, options, None).encode()


def _render_png(state: BoardState, options: ExportOptions) -> bytes:
    return rasterise(_svg(state, options, options.scale))


def _render_json(state: BoardState, options: ExportOptions) -> bytes:
    # Display options do not apply to the document; the selection (ids, frame) does.
    return render_json_bytes(select(state, replace(options, dark=False))[0])


#: Export format -> renderer of a state with options.
OPTION_RENDERERS: dict[str, Callable[[BoardState, ExportOptions], bytes]] = {
    "svg": _render_svg,
    "png": _render_png,
    "json": _render_json,
}


def selected_state(state: BoardState, options: ExportOptions) -> BoardState:
    """
    The state whose cost an export with `options` pays (the budget measures what is drawn).
    """
    return select(state, replace(options, dark=False))[0]
