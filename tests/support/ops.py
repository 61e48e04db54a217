"""
Op builders: small valid client ops (protocol §3.2), each with its client op id `i`.

    client.send_ops([stroke(1, "s1"), append(2, "s1")])
"""

from __future__ import annotations

from typing import Any

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


def stroke(i: int, el_id: str, x: int = 10) -> dict[str, Any]:
    """
    An `add` op of a small two-point stroke.
    """
    return {
        "i": i,
        "k": "add",
        "el": {
            "id": el_id,
            "type": "stroke",
            "x": x,
            "y": 20,
            "style": dict(STYLE),
            "p": [0, 0, 3, 1],
        },
    }


def append(i: int, el_id: str) -> dict[str, Any]:
    """
    An `app` op adding two points to stroke `el_id`.
    """
    return {"i": i, "k": "app", "id": el_id, "p": [1, 1, 2, 2]}
