"""
Point encoding: quantisation, delta encoding round trips and wire compactness.
"""

from __future__ import annotations

import math
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from board.document.points import (
    decode_deltas,
    decode_points,
    encode_points,
    last_point,
    point_count,
    quantise,
)

points = st.lists(
    st.tuples(st.integers(-(10**7), 10**7), st.integers(-(10**7), 10**7)), max_size=50
)
origins = st.tuples(st.integers(-(10**7), 10**7), st.integers(-(10**7), 10**7))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 0), (0.49, 0), (0.5, 1), (1.5, 2), (2.5, 3), (-0.5, -1), (-1.5, -2), (-0.49, 0), (7, 7)],
)
def test_quantise_rounds_halves_away_from_zero(value: float, expected: int) -> None:
    assert quantise(value) == expected
    assert type(quantise(value)) is int


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_quantise_refuses_non_finite_input(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        quantise(value)


@given(points, origins)
def test_encode_decode_round_trip(
    abs_points: list[tuple[int, int]], origin: tuple[int, int]
) -> None:
    deltas = encode_points(abs_points, origin)
    assert len(deltas) == 2 * len(abs_points)
    el = {"x": origin[0], "y": origin[1], "p": deltas}
    assert decode_points(el) == abs_points
    assert point_count(el) == len(abs_points)
    assert last_point(el) == (abs_points[-1] if abs_points else origin)


@given(points, points, origins)
def test_appends_continue_from_the_last_point(
    first: list[tuple[int, int]], more: list[tuple[int, int]], origin: tuple[int, int]
) -> None:
    el: dict[str, Any] = {"x": origin[0], "y": origin[1], "p": encode_points(first, origin)}
    el["p"] = el["p"] + encode_points(more, last_point(el))
    assert decode_points(el) == first + more
    assert decode_deltas(encode_points(more, (3, 4)), (3, 4)) == more


def test_pen_input_stays_in_fixint_range_and_costs_about_a_byte_per_value() -> None:
    # A circle of radius 200 sampled every 2 degrees: about what a mouse at 60 Hz produces.
    circle = [
        (
            quantise(500 + 200 * math.cos(math.radians(a))),
            quantise(300 + 200 * math.sin(math.radians(a))),
        )
        for a in range(0, 360, 2)
    ]
    deltas = encode_points(circle, (500, 300))
    assert all(-32 <= d <= 127 for d in deltas[2:])
    packed = msgpack.packb(deltas)
    assert len(packed) <= len(deltas) + 8
