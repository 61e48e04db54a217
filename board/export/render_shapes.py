"""
Export of box shapes (rect, ellipse, diamond, note, frame) and of the dash and fill-pattern styles.

The geometry here is the canvas's (frontend/src/canvas/shapes.ts), number for number: the dash
arrays, the hatch spacing and angle, the note's shadow and the frame's name. A hatch is an SVG
pattern in user space rotated 45 degrees, which is exactly what the canvas draws by clipping to
the shape and stroking lines in a rotated frame, so both put every line at the same world place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from board.document.geometry import FRAME_LABEL_GAP, FRAME_LABEL_SIZE, NOTE_SHADOW_OFFSET
from board.export.dark import dark_color
from board.export.svgfmt import num, paint, qnum, xml_text

#: The fill a note without one is drawn with (the sticky-note yellow of the palette).
NOTE_FILL = "#ffec99"
#: The note's shadow: black at this opacity.
NOTE_SHADOW_OPACITY = 0.15
NOTE_SHADOW = "#000000"
#: A frame's name colour (muted: it labels a region, it is not content).
FRAME_LABEL_COLOR = "#495057"


class Ink(NamedTuple):
    """
    The colours the renderer supplies itself (no element's style holds them).

    A dark export maps them by the dark rule like every style colour (dark_element), as the
    dark canvas's filter does to everything it shows; kept light, a frame's name stayed dark grey
    on the near-black background.
    """

    frame_label: str
    note_fill: str
    note_shadow: str


LIGHT_INK = Ink(frame_label=FRAME_LABEL_COLOR, note_fill=NOTE_FILL, note_shadow=NOTE_SHADOW)
DARK_INK = Ink(*(dark_color(c) for c in LIGHT_INK))
FRAME_LABEL_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
#: Hatch lines: spacing and width in world units, at least these, else in stroke widths.
HATCH_GAP_MIN, HATCH_GAP_WIDTHS = 10, 4
HATCH_LINE_MIN = 1


def dash_array(style: Mapping[str, Any]) -> tuple[float, float] | None:
    """
    The (on, off) lengths of a dashed or dotted outline in world units, or None when solid.

    Dots are 1-unit dashes: with round caps each becomes a dot as wide as the line.
    """
    dash = style.get("dash", "solid")
    width = style["width"]
    if dash == "dash":
        return (3 * width + 4, 2 * width + 4)
    if dash == "dot":
        return (1, 2 * width + 3)
    return None


def dash_attrs(style: Mapping[str, Any]) -> str:
    """
    The stroke-dasharray attribute (with a leading space) of a dashed style, else "".
    """
    pattern = dash_array(style)
    if pattern is None:
        return ""
    return f' stroke-dasharray="{num(pattern[0])} {num(pattern[1])}"'


def hatch_gap(width: float) -> float:
    return max(HATCH_GAP_MIN, HATCH_GAP_WIDTHS * width)


def hatch_line_width(width: float) -> float:
    return max(HATCH_LINE_MIN, width / 2)


def _fill(el: Mapping[str, Any]) -> tuple[str, str]:
    """
    (defs, fill attribute value) of a box shape: a colour, none, or its hatch pattern.
    """
    style = el["style"]
    fill = style["fill"]
    pattern = style.get("fs", "solid")
    if fill is None or pattern == "solid":
        return "", paint(fill)
    gap = hatch_gap(style["width"])
    half = gap / 2
    d = f"M{num(half)} 0V{num(gap)}"
    if pattern == "cross":
        d += f"M0 {num(half)}H{num(gap)}"
    pid = f"fs-{el['id']}"
    defs = (
        f'<defs><pattern id={quoteattr(pid)} patternUnits="userSpaceOnUse" '
        f'width={qnum(gap)} height={qnum(gap)} patternTransform="rotate(45)">'
        f'<path d="{d}" stroke={paint(fill)} stroke-width={qnum(hatch_line_width(style["width"]))} '
        f'fill="none"/></pattern></defs>'
    )
    return defs, quoteattr(f"url(#{pid})")


def _outline(style: Mapping[str, Any]) -> str:
    return (
        f"stroke={paint(style['color'])} stroke-width={qnum(style['width'])} "
        f'stroke-linejoin="round" stroke-linecap="round"{dash_attrs(style)}'
    )


def _box(el: Mapping[str, Any]) -> tuple[float, float, float, float]:
    x, y, w, h = el["x"], el["y"], el["w"], el["h"]
    return min(x, x + w), min(y, y + h), abs(w), abs(h)


def _rect(el: Mapping[str, Any]) -> str:
    left, top, w, h = _box(el)
    defs, fill = _fill(el)
    return (
        f"{defs}<rect x={qnum(left)} y={qnum(top)} width={qnum(w)} height={qnum(h)} "
        f"fill={fill} {_outline(el['style'])}/>"
    )


def _ellipse(el: Mapping[str, Any]) -> str:
    x, y, w, h = el["x"], el["y"], el["w"], el["h"]
    defs, fill = _fill(el)
    return (
        f"{defs}<ellipse cx={qnum(x + w / 2)} cy={qnum(y + h / 2)} "
        f"rx={qnum(abs(w) / 2)} ry={qnum(abs(h) / 2)} fill={fill} {_outline(el['style'])}/>"
    )


def diamond_points(el: Mapping[str, Any]) -> list[tuple[float, float]]:
    """
    The diamond's corners from the top, clockwise (the canvas's path starts there too).
    """
    left, top, w, h = _box(el)
    return [
        (left + w / 2, top),
        (left + w, top + h / 2),
        (left + w / 2, top + h),
        (left, top + h / 2),
    ]


def _diamond(el: Mapping[str, Any]) -> str:
    defs, fill = _fill(el)
    d = "M" + "L".join(f"{num(px)} {num(py)}" for px, py in diamond_points(el)) + "Z"
    return f'{defs}<path d="{d}" fill={fill} {_outline(el["style"])}/>'


def _note(el: Mapping[str, Any], ink: Ink = LIGHT_INK) -> str:
    left, top, w, h = _box(el)
    off = NOTE_SHADOW_OFFSET
    fill = el["style"]["fill"] or ink.note_fill
    return (
        f"<rect x={qnum(left + off)} y={qnum(top + off)} width={qnum(w)} height={qnum(h)} "
        f'fill="{ink.note_shadow}" fill-opacity="{NOTE_SHADOW_OPACITY}"/>'
        f"<rect x={qnum(left)} y={qnum(top)} width={qnum(w)} height={qnum(h)} fill={paint(fill)}/>"
    )


def frame_label(name: str) -> str:
    """
    A frame's name as drawn: one line (line breaks become spaces).
    """
    return " ".join(name.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _frame(el: Mapping[str, Any], ink: Ink = LIGHT_INK) -> str:
    left, top, _w, _h = _box(el)
    out = _rect(el)
    label = frame_label(xml_text(el["name"]))
    if label.strip():
        out += (
            f"<text x={qnum(left)} y={qnum(top - FRAME_LABEL_GAP)} "
            f"font-size={qnum(FRAME_LABEL_SIZE)} font-family={quoteattr(FRAME_LABEL_FONT)} "
            f'fill="{ink.frame_label}" xml:space="preserve">{escape(label)}</text>'
        )
    return out


BOX_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "rect": _rect,
    "ellipse": _ellipse,
    "diamond": _diamond,
    "note": _note,
    "frame": _frame,
}


def inked_renderers(ink: Ink) -> dict[str, Callable[[Mapping[str, Any]], str]]:
    """
    The renderers of the types that draw with renderer-supplied colours, in `ink`.
    """
    return {"note": partial(_note, ink=ink), "frame": partial(_frame, ink=ink)}


def drawing_order(elements: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """
    Elements in the order they are painted: frames first (beneath everything), each kind in
    z-order.
    """
    els = list(elements)
    return [el for el in els if el["type"] == "frame"] + [el for el in els if el["type"] != "frame"]
