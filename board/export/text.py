"""
SVG for text elements and box-shape labels: the lines board.document.textlayout gives (so they
wrap where the canvas wraps them), in the element's font family, aligned as the canvas aligns
them (frontend/src/canvas/text-draw.ts draws the same boxes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from board.document.textlayout import (
    DEFAULT_LABEL_SIZE,
    LINE_HEIGHT,
    font_of,
    label_width,
    line_width,
    text_box_lines,
)

#: Font stacks per `style.font`, the canvas's faces first, then what a server has (DejaVu).
FONT_FAMILIES = {
    "hand": "Comic Sans MS, Comic Neue, Segoe Print, Bradley Hand, DejaVu Sans, cursive",
    "sans": "DejaVu Sans, Liberation Sans, Arial, sans-serif",
    "serif": "DejaVu Serif, Liberation Serif, Georgia, Times New Roman, serif",
    "mono": "DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace",
}
#: Where a line's baseline sits below the top of its line box, in multiples of the size.
ASCENT = 0.9
_ANCHORS = {"left": "start", "center": "middle", "right": "end"}


def _n(v: float) -> str:
    r = round(v, 2)
    return str(int(r)) if r == int(r) else repr(r)


def _lines_svg(
    el: Mapping[str, Any],
    lines: list[str],
    left: float,
    width: float,
    top: float,
    align: str,
    clean: Callable[[str], str],
) -> str:
    size = el.get("size", DEFAULT_LABEL_SIZE)
    x = left + {"left": 0, "center": width / 2, "right": width}[align]
    attrs = (
        f'x="{_n(x)}" font-size="{_n(size)}" font-family={quoteattr(FONT_FAMILIES[font_of(el)])} '
        f'text-anchor="{_ANCHORS[align]}" fill={quoteattr(el["style"]["color"])} '
        'xml:space="preserve"'
    )
    out = []
    for n, line in enumerate(lines):
        text = clean(line)
        if not text.strip():
            continue
        baseline = top + size * (ASCENT + LINE_HEIGHT * n)
        out.append(f'<text y="{_n(baseline)}" {attrs}>{escape(text)}</text>')
    return "".join(out)


def text_svg(el: Mapping[str, Any], clean: Callable[[str], str]) -> str:
    """
    A text element: lines from its top-left corner, aligned within its wrap width (or, without
    one, within its widest line). `clean` drops what XML cannot carry.
    """
    lines = text_box_lines(el)
    if "w" in el:
        width: float = el["w"]
    else:
        font = font_of(el)
        width = max((line_width(line, el["size"], font) for line in lines), default=0)
    return _lines_svg(el, lines, el["x"], width, el["y"], el.get("align", "left"), clean)


def label_svg(el: Mapping[str, Any], clean: Callable[[str], str]) -> str:
    """
    A box shape's label: centred in the shape, wrapped to label_width, aligned within it.
    """
    lines = text_box_lines(el)
    if not lines:
        return ""
    x, y, w, h = el["x"], el["y"], el["w"], el["h"]
    width = label_width(el)
    size = el.get("size", DEFAULT_LABEL_SIZE)
    top = min(y, y + h) + abs(h) / 2 - len(lines) * size * LINE_HEIGHT / 2
    left = min(x, x + w) + abs(w) / 2 - width / 2
    return _lines_svg(el, lines, left, width, top, el.get("align", "center"), clean)
