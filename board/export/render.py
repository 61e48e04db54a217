"""
Export: a board state rendered as SVG, as PNG (the SVG rasterised by resvg) and as JSON.

The SVG is self-contained: a viewBox fitted to the content plus a margin, a white background,
one group per element in z-order (`data-id` carries the element id). Strokes are the outlines
the canvas fills (board.export.freehand); arrowheads follow geometry.ARROW_HEAD_*, as on the
canvas. Text loses the characters XML 1.0 cannot carry
(`xml_text`), so one stored U+FFFF cannot make the SVG malformed or the PNG fail.

Everything here is pure and CPU-bound: the server runs it in a worker process
(board.export.workers), within the budget board.export.budget measures.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import resvg_py

from board.document import BoardState, copy_element
from board.document.geometry import (
    ARROW_HEAD_ANGLE,
    arrow_head_length,
    bbox,
    rotation_centre,
    union,
)
from board.document.points import drawn_points
from board.document.textlayout import LABELLED_TYPES
from board.export.errors import ExportError
from board.export.freehand import outline_path, stroke_outline
from board.export.images import embedded_assets, render_image
from board.export.render_shapes import (
    BOX_RENDERERS,
    LIGHT_INK,
    Ink,
    dash_attrs,
    drawing_order,
    inked_renderers,
)
from board.export.svgfmt import num as _n
from board.export.svgfmt import paint as _paint
from board.export.svgfmt import qnum as _q
from board.export.svgfmt import xml_text
from board.export.text import label_svg, text_svg

#: Space around the content, world units, so strokes touching the edge keep their caps.
MARGIN = 16
#: Side of the blank image an empty board renders to, world units.
EMPTY_SIDE = 64
BACKGROUND = "#ffffff"
#: PNG bound: 4096 x 4096 px is a 64 MiB RGBA buffer in resvg, the most one request may cost.
PNG_MAX_PIXELS = 4096 * 4096
#: Longest PNG side, px; a 1 x 100000 board would otherwise pass the pixel bound.
PNG_MAX_SIDE = 8192

Point = tuple[float, float]


def _centre_line(pts: Sequence[Point]) -> str:
    """
    Return path data through `pts`, smoothed with quadratic curves via the midpoints.
    """
    d = [f"M{_n(pts[0][0])} {_n(pts[0][1])}"]
    for (ax, ay), (bx, by) in itertools.pairwise(pts[1:]):
        d.append(f"Q{_n(ax)} {_n(ay)} {_n((ax + bx) / 2)} {_n((ay + by) / 2)}")
    d.append(f"L{_n(pts[-1][0])} {_n(pts[-1][1])}")
    return "".join(d)


def _stroke(el: Mapping[str, Any]) -> str:
    """
    The outline the canvas fills (board.export.freehand); a stroke without points is a dot.
    """
    style = el["style"]
    color = _paint(style["color"])
    pts: list[Point] = drawn_points(el)
    # A dash pattern needs a line: a dashed stroke is its centre line, pressure or not.
    dash = dash_attrs(style)
    if len(pts) < 2 if dash else not pts:
        x, y = pts[0] if pts else (el["x"], el["y"])
        return f"<circle cx={_q(x)} cy={_q(y)} r={_q(style['width'] / 2)} fill={color}/>"
    if dash:
        return (
            f'<path d={quoteattr(_centre_line(pts))} fill="none" stroke={color} '
            f'stroke-width={_q(style["width"])} stroke-linecap="round" '
            f'stroke-linejoin="round"{dash}/>'
        )
    poly = stroke_outline(pts, el.get("pr") or None, style["width"], style["opacity"])
    return f"<path d={quoteattr(outline_path(poly))} fill={color}/>"


def _rotation(el: Mapping[str, Any]) -> str:
    """
    The ` transform` attribute turning `el` by its `rot` about its centre (as the canvas does).
    """
    rot = el.get("rot")
    if not rot:
        return ""
    cx, cy = rotation_centre(el)
    return f' transform="rotate({_n(rot)} {_n(cx)} {_n(cy)})"'


def _line(el: Mapping[str, Any], *, end: Point | None = None) -> str:
    x2, y2 = end or (el["x"] + el["w"], el["y"] + el["h"])
    style = el["style"]
    return (
        f"<line x1={_q(el['x'])} y1={_q(el['y'])} "
        f"x2={_q(x2)} y2={_q(y2)} stroke={_paint(style['color'])} "
        f'stroke-width={_q(style["width"])} stroke-linecap="round"{dash_attrs(style)}/>'
    )


def _arrow(el: Mapping[str, Any]) -> str:
    """
    The shaft to the tip and the head's two strokes (geometry.ARROW_HEAD_*), as the canvas draws.
    """
    x, y, w, h = el["x"], el["y"], el["w"], el["h"]
    length = math.hypot(w, h)
    if length == 0:
        return _line(el)
    head = min(arrow_head_length(el["style"]["width"]), length)
    tx, ty = x + w, y + h
    angle = math.atan2(h, w)
    wings = [
        (
            tx - head * math.cos(angle + side * ARROW_HEAD_ANGLE),
            ty - head * math.sin(angle + side * ARROW_HEAD_ANGLE),
        )
        for side in (-1, 1)
    ]
    (ax, ay), (bx, by) = wings
    d = f"M{_n(ax)} {_n(ay)}L{_n(tx)} {_n(ty)}L{_n(bx)} {_n(by)}"
    style = el["style"]
    return (
        f'{_line(el)}<path d={quoteattr(d)} fill="none" stroke={_paint(style["color"])} '
        f'stroke-width={_q(style["width"])} stroke-linecap="round" stroke-linejoin="round"/>'
    )


def _text(el: Mapping[str, Any]) -> str:
    return text_svg(el, xml_text)


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "stroke": _stroke,
    **BOX_RENDERERS,
    "line": _line,
    "arrow": _arrow,
    "text": _text,
    "image": render_image,
}


def content_box(state: BoardState) -> tuple[float, float, float, float]:
    """
    Return the exported area (x, y, width, height) in world units: content plus MARGIN.
    """
    box = union([bbox(el) for el in state.elements.values()])
    if box is None:
        return (0, 0, EMPTY_SIDE, EMPTY_SIDE)
    minx, miny, maxx, maxy = box
    return (
        math.floor(minx) - MARGIN,
        math.floor(miny) - MARGIN,
        math.ceil(maxx) - math.floor(minx) + 2 * MARGIN,
        math.ceil(maxy) - math.floor(miny) + 2 * MARGIN,
    )


def render_svg(
    state: BoardState,
    *,
    pixel_size: tuple[float, float] | None = None,
    box: tuple[float, float, float, float] | None = None,
    background: str | None = BACKGROUND,
    clip: tuple[float, float, float, float] | None = None,
    ink: Ink = LIGHT_INK,
) -> str:
    """
    Return the board as an SVG document (`pixel_size` sets width/height; default 1 px per unit)
    showing `box` (x, y, width, height; default content_box) on `background` (None: none),
    the elements cut to `clip` (x, y, width, height) when given, the colours no style holds
    (a frame's name, a note's default fill and shadow) in `ink`.
    """
    renderers = _RENDERERS if ink is LIGHT_INK else {**_RENDERERS, **inked_renderers(ink)}
    x, y, w, h = box or content_box(state)
    pw, ph = pixel_size or (w, h)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{_n(pw)}" height="{_n(ph)}" viewBox="{_n(x)} {_n(y)} {_n(w)} {_n(h)}">',
    ]
    if background is not None:
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f"fill={quoteattr(background)}/>"
        )
    if clip is not None:
        cx, cy, cw, ch = clip
        parts.append(
            f'<clipPath id="frame"><rect x="{_n(cx)}" y="{_n(cy)}" '
            f'width="{_n(cw)}" height="{_n(ch)}"/></clipPath><g clip-path="url(#frame)">'
        )
    for el in drawing_order(state.elements.values()):
        body = renderers[el["type"]](el)
        if el["type"] in LABELLED_TYPES and el.get("text"):
            body += label_svg(el, xml_text)
        parts.append(
            f"<g data-id={quoteattr(el['id'])} data-type={quoteattr(el['type'])} "
            f"opacity={_q(el['style']['opacity'])}{_rotation(el)}>{body}</g>"
        )
    if clip is not None:
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def png_size(state: BoardState, scale: float, max_pixels: int) -> tuple[int, int]:
    """
    Return the PNG's (width, height) in px: `scale` px per unit, shrunk to fit the bounds.
    """
    return box_pixels(content_box(state), scale, max_pixels)


def box_pixels(
    box: tuple[float, float, float, float], scale: float, max_pixels: int
) -> tuple[int, int]:
    """
    Return the (width, height) in px of `box` at `scale` px per unit, shrunk to fit the bounds.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    _x, _y, w, h = box
    zoom = min(scale, math.sqrt(max_pixels / (w * h)), PNG_MAX_SIDE / max(w, h))
    return max(1, math.floor(w * zoom)), max(1, math.floor(h * zoom))


def render_png(state: BoardState, *, scale: float = 1.0, max_pixels: int = PNG_MAX_PIXELS) -> bytes:
    """
    Return the board as PNG bytes, at most `max_pixels` pixels and PNG_MAX_SIDE px a side.
    """
    return rasterise(render_svg(state, pixel_size=png_size(state, scale, max_pixels)))


def rasterise(svg: str) -> bytes:
    """
    Return the SVG document `svg` as PNG bytes (resvg), at its width and height.
    """
    try:
        return bytes(resvg_py.svg_to_bytes(svg_string=svg))
    except ValueError as exc:
        raise ExportError(f"The rasteriser refused the SVG: {exc}") from exc


def render_json(state: BoardState) -> dict[str, Any]:
    """
    Return {"version": 1, "seq": ..., "elements": [...]}: wire-form elements in z-order, and
    `assets` ({id: {"mime", "data": base64}}) when the board has images.
    """
    body: dict[str, Any] = {
        "version": 1,
        "seq": state.seq,
        "elements": [copy_element(el) for el in state.elements.values()],
    }
    assets = embedded_assets()
    if assets:
        body["assets"] = assets
    return body


def render_json_bytes(state: BoardState) -> bytes:
    """
    Return `render_json(state)` as compact UTF-8 JSON, ready for an HTTP body.
    """
    return json.dumps(render_json(state), ensure_ascii=False, separators=(",", ":")).encode()


def render_svg_bytes(state: BoardState) -> bytes:
    """
    Return `render_svg(state)` as UTF-8, ready for an HTTP body.
    """
    return render_svg(state).encode()


#: Export format -> renderer returning the response body.
FORMAT_RENDERERS: dict[str, Callable[[BoardState], bytes]] = {
    "svg": render_svg_bytes,
    "png": render_png,
    "json": render_json_bytes,
}
