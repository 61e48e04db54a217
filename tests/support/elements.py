"""
Element builders: small valid elements (protocol §3.1) without an op around them, for snapshots,
restores and ops a test numbers itself; `element` makes one of any type, `add` and `board` put
elements on a board.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from board.document import BoardState, materialize


def stroke(el_id: str, x: int = 10, y: int = 20) -> dict[str, Any]:
    """
    A three-point stroke.
    """
    return {
        "id": el_id,
        "type": "stroke",
        "x": x,
        "y": y,
        "style": {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None},
        "p": [0, 0, 3, 1, 2, 2],
    }


def rect(el_id: str, x: int = 0, y: int = 0) -> dict[str, Any]:
    """
    A filled 40 x 30 rectangle.
    """
    return {
        "id": el_id,
        "type": "rect",
        "x": x,
        "y": y,
        "w": 40,
        "h": 30,
        "style": {"color": "#ff0000", "width": 2, "opacity": 1, "fill": "#00ff00"},
    }


def image(
    el_id: str, asset: str, x: int = 0, y: int = 0, w: int = 64, h: int = 48
) -> dict[str, Any]:
    """
    An image element showing `asset` (a sha256 hex id).
    """
    return {
        "id": el_id,
        "type": "image",
        "x": x,
        "y": y,
        "w": w,
        "h": h,
        "asset": asset,
        "style": {"color": "#1e1e1e", "width": 1, "opacity": 1, "fill": None},
    }


def style(width: int = 4) -> dict[str, Any]:
    """
    The plain black style, `width` wide (a new dict each call).
    """
    return {"color": "#1e1e1e", "width": width, "opacity": 1, "fill": None}


def element(
    el_id: str,
    kind: str = "rect",
    *,
    width: int = 4,
    box: tuple[int, int] = (100, 50),
    points: Sequence[int] = (0, 0),
    content: tuple[str, int] = ("hi", 16),
    **fields: Any,
) -> dict[str, Any]:
    """
    A valid element of any type at 0, 0 in `style(width)`, with what its type requires: a
    stroke's `points`, a text's `content` (text, size), otherwise a `box` (w, h) and, for a
    frame, a name. `fields` are set last (and may replace any of these).
    """
    base: dict[str, Any] = {"id": el_id, "type": kind, "x": 0, "y": 0, "style": style(width)}
    if kind == "stroke":
        base["p"] = list(points)
    elif kind == "text":
        base.update(text=content[0], size=content[1])
    else:
        base.update(w=box[0], h=box[1])
        if kind == "frame":
            base["name"] = "Frame 1"
    return {**base, **fields}


def add(el: dict[str, Any], i: int = 1) -> dict[str, Any]:
    """
    The client op adding `el`, numbered `i`.
    """
    return {"i": i, "k": "add", "el": el}


def board(*elements: dict[str, Any]) -> BoardState:
    """
    The board the elements make, added in order (bottom to top).
    """
    return materialize(None, [add(el, n) for n, el in enumerate(elements, 1)])
