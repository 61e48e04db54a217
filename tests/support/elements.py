"""
Element builders: small valid elements (protocol §3.1) without an op around them, for snapshots,
restores and ops a test numbers itself.
"""

from __future__ import annotations

from typing import Any


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
