"""
Element geometry: bounding boxes in world units, shared by the exporters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.points import decode_points

#: Text layout, in multiples of the font size: advance of an average glyph (no font metrics on
#: the server, so the box is an estimate that errs wide) and the distance between baselines.
TEXT_CHAR_WIDTH = 0.6
TEXT_LINE_HEIGHT = 1.25
#: The widest a pressure stroke gets, in multiples of its nominal width (pressure 100).
PRESSURE_WIDTH_MAX = 1.75
#: Arrowhead length in multiples of the stroke width, and its minimum in world units.
ARROW_HEAD_WIDTHS = 4.0
ARROW_HEAD_MIN = 8.0

BBox = tuple[float, float, float, float]


def text_lines(text: str) -> list[str]:
    """
    Split element text into display lines (CR, LF or CRLF end a line).
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def arrow_head_length(width: float) -> float:
    return max(ARROW_HEAD_MIN, width * ARROW_HEAD_WIDTHS)


def bbox(el: Mapping[str, Any]) -> BBox:
    """
    Return (minx, miny, maxx, maxy) of an element, including its stroke width.
    """
    x, y = el["x"], el["y"]
    half = el["style"]["width"] / 2
    kind = el["type"]
    if kind == "stroke":
        pts = decode_points(el) or [(x, y)]
        xs = [px for px, _ in pts]
        ys = [py for _, py in pts]
        if "pr" in el:
            half *= PRESSURE_WIDTH_MAX
        return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)
    if kind == "text":
        size = el["size"]
        lines = text_lines(el["text"])
        width = max(len(line) for line in lines) * size * TEXT_CHAR_WIDTH
        return (x, y, x + width, y + len(lines) * size * TEXT_LINE_HEIGHT)
    x2, y2 = x + el["w"], y + el["h"]
    if kind == "arrow":
        half = max(half, arrow_head_length(el["style"]["width"]) / 2)
    return (min(x, x2) - half, min(y, y2) - half, max(x, x2) + half, max(y, y2) + half)


def union(boxes: list[BBox]) -> BBox | None:
    """
    Return the box enclosing every box, or None for no boxes.
    """
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
