"""
Stroke point encoding: integer-quantised, delta-encoded point arrays (docs/protocol.md §3.1).

A stroke's `p` is a flat `[dx0, dy0, dx1, dy1, ...]`: the first pair is relative to the element's
origin `(x, y)`, each next pair relative to the previous point. Pen input moves a few units per
sample, so almost every delta fits msgpack's 1-byte fixint range (-32..127) and a point costs
about two bytes on the wire instead of the 18 of two float64s.

Appends (`app` ops) continue the same chain: their first pair is relative to the stroke's last
point, which is what `last_point` returns. Pure functions, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def quantise(x: float) -> int:
    """
    Round a float coordinate to the integer grid, halves away from zero.

    Python's round() rounds halves to even, and JavaScript's Math.round rounds them up; rounding
    away from zero on both sides keeps a stroke symmetric when mirrored. Non-finite input is a
    programmer error: the caller must filter pointer events first.
    """
    if not math.isfinite(x):
        raise ValueError(f"quantise() needs a finite number, got {x!r}")
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def encode_points(abs_points: Sequence[tuple[int, int]], start: tuple[int, int]) -> list[int]:
    """
    Delta-encode absolute integer points, the first one relative to `start`.

    `start` is the element origin for an `add`, or `last_point(el)` for an `app`.
    """
    out: list[int] = []
    px, py = start
    for x, y in abs_points:
        out.append(x - px)
        out.append(y - py)
        px, py = x, y
    return out


def decode_deltas(deltas: Sequence[int], start: tuple[int, int]) -> list[tuple[int, int]]:
    """
    Return the absolute points of a flat delta array whose first pair is relative to `start`.
    """
    x, y = start
    out: list[tuple[int, int]] = []
    for n in range(0, len(deltas) - 1, 2):
        x += deltas[n]
        y += deltas[n + 1]
        out.append((x, y))
    return out


def decode_points(el: Mapping[str, Any]) -> list[tuple[int, int]]:
    """
    Return the absolute points of a stroke element (empty for a stroke without points).
    """
    return decode_deltas(el.get("p") or (), (el["x"], el["y"]))


def drawn_points(el: Mapping[str, Any]) -> list[tuple[float, float]]:
    """
    Return a stroke's absolute points as drawn: scaled by its `sx`, `sy` about its origin.

    The stored deltas never change when a stroke is resized (an `upd` of `sx`/`sy` costs a few
    bytes, not the whole stroke again); rotation (`rot`) is applied after this, about the centre
    of these points' box (board.document.geometry).
    """
    points = decode_points(el)
    sx, sy = el.get("sx", 1), el.get("sy", 1)
    if sx == 1 and sy == 1:
        return list(points)
    x, y = el["x"], el["y"]
    return [(x + (px - x) * sx, y + (py - y) * sy) for px, py in points]


def last_point(el: Mapping[str, Any]) -> tuple[int, int]:
    """
    Return the absolute point an `app` op's first delta is relative to.

    That is the stroke's last point, or its origin while it has none yet.
    """
    p: Sequence[int] = el.get("p") or ()
    return (el["x"] + sum(p[0::2]), el["y"] + sum(p[1::2]))


def point_count(el: Mapping[str, Any]) -> int:
    """
    Return the number of points of a stroke element.
    """
    return len(el.get("p") or ()) // 2
