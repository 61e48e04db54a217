"""
Element geometry: bounding boxes in world units, shared by the exporters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from board.document.points import drawn_points
from board.document.textlayout import (
    DEFAULT_LABEL_SIZE,
    LINE_HEIGHT,
    paragraphs,
    text_box_lines,
    text_extent,
)

#: Distance between baselines in multiples of the font size (textlayout has the text rules).
TEXT_LINE_HEIGHT = LINE_HEIGHT
#: The widest a pressure stroke gets, in multiples of its nominal width (pressure 100).
PRESSURE_WIDTH_MAX = 1.75
#: Arrowhead: two strokes back from the tip, each ARROW_HEAD_ANGLE radians off the shaft, as long
#: as ARROW_HEAD_WIDTHS stroke widths but at least ARROW_HEAD_MIN world units and at most the
#: arrow's length. One rule for the canvas (frontend/src/canvas/draw.ts) and every export
#: (board/export/render.py); docs/document-model.md states it.
ARROW_HEAD_WIDTHS = 4.0
ARROW_HEAD_MIN = 8.0
ARROW_HEAD_ANGLE = math.pi / 7

#: A frame's name: font size in world units, and the gap between its baseline and the frame.
FRAME_LABEL_SIZE = 14
FRAME_LABEL_GAP = 6
#: Estimated advance of a glyph of the name, in multiples of its size (errs wide).
FRAME_LABEL_CHAR_WIDTH = 0.6
#: A sticky note's shadow: a copy of the note this far down and to the right, world units.
NOTE_SHADOW_OFFSET = 4

BBox = tuple[float, float, float, float]


def text_lines(text: str) -> list[str]:
    """
    Split element text into hard lines (CR, LF or CRLF end a line).
    """
    return paragraphs(text)


def arrow_head_length(width: float) -> float:
    return max(ARROW_HEAD_MIN, width * ARROW_HEAD_WIDTHS)


def bbox(el: Mapping[str, Any]) -> BBox:
    """
    Return (minx, miny, maxx, maxy) of an element, including its stroke width and rotation.

    A rotated element's box encloses its unrotated box turned about that box's centre (what the
    canvas and the export rotate about), so it may be a little larger than the ink.
    """
    box = unrotated_bbox(el)
    rot = el.get("rot")
    return rotated_bbox(box, rot) if rot else box


def rotation_centre(el: Mapping[str, Any]) -> tuple[float, float]:
    """
    Return the point an element's `rot` turns it about: the centre of its unrotated box.
    """
    minx, miny, maxx, maxy = unrotated_bbox(el)
    return ((minx + maxx) / 2, (miny + maxy) / 2)


def rotated_bbox(box: BBox, rot: float) -> BBox:
    """
    Return the box enclosing `box` turned by `rot` degrees (clockwise, y down) about its centre.
    """
    minx, miny, maxx, maxy = box
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    rad = math.radians(rot)
    # Half the rotated extents: the corners' offsets projected on each axis.
    cos, sin = abs(math.cos(rad)), abs(math.sin(rad))
    hw, hh = (maxx - minx) / 2, (maxy - miny) / 2
    rx, ry = hw * cos + hh * sin, hw * sin + hh * cos
    return (cx - rx, cy - ry, cx + rx, cy + ry)


def unrotated_bbox(el: Mapping[str, Any]) -> BBox:
    """
    Return (minx, miny, maxx, maxy) of an element as if its `rot` were 0, with its stroke width.
    """
    x, y = el["x"], el["y"]
    half = el["style"]["width"] / 2
    kind = el["type"]
    if kind == "stroke":
        pts = drawn_points(el) or [(x, y)]
        xs = [px for px, _ in pts]
        ys = [py for _, py in pts]
        if "pr" in el:
            half *= PRESSURE_WIDTH_MAX
        return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)
    if kind == "text":
        width, height = text_extent(el)
        return (x, y, x + width, y + height)
    x2, y2 = x + el["w"], y + el["h"]
    if kind == "image":  # no outline: the picture is the box
        return (min(x, x2), min(y, y2), max(x, x2), max(y, y2))
    if kind == "arrow":
        # The head's strokes reach this far off the shaft's line, round caps included.
        half += arrow_head_length(el["style"]["width"]) * math.sin(ARROW_HEAD_ANGLE)
    box = (min(x, x2) - half, min(y, y2) - half, max(x, x2) + half, max(y, y2) + half)
    if kind == "note":
        # A note has no outline (its width only styles a label); its shadow reaches further.
        left, top = min(x, x2), min(y, y2)
        off = NOTE_SHADOW_OFFSET
        box = (left, top, max(x, x2) + off, max(y, y2) + off)
    if kind == "frame" and el["name"]:
        # The name sits above the frame's top-left corner, on one line.
        left, top = min(x, x2), min(y, y2)
        label_w = len(el["name"]) * FRAME_LABEL_SIZE * FRAME_LABEL_CHAR_WIDTH
        label_top = top - FRAME_LABEL_GAP - FRAME_LABEL_SIZE
        box = (box[0], min(box[1], label_top), max(box[2], left + label_w), box[3])
    if el.get("text"):
        # A label taller than its shape spills out above and below, centred on it.
        lines = text_box_lines(el)
        spill = (len(lines) * el.get("size", DEFAULT_LABEL_SIZE) * LINE_HEIGHT - abs(el["h"])) / 2
        if spill > half:
            box = (box[0], box[1] - spill + half, box[2], box[3] + spill - half)
    return box


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
