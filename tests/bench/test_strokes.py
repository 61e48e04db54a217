"""
The freehand stroke model (bench/strokes.py): deterministic, integer, smooth, bounded.
"""

from __future__ import annotations

import itertools
import statistics

import pytest

from bench.strokes import PenModel, Stroke, StrokePool, UniformStroke
from realtime.wire.compact import PAIR_MAX


def _positions(p: list[int]) -> list[tuple[int, int]]:
    x = y = 0
    out = [(0, 0)]
    for k in range(0, len(p), 2):
        x += p[k]
        y += p[k + 1]
        out.append((x, y))
    return out


def test_same_seed_same_stroke_in_any_chunking() -> None:
    whole = Stroke(7).take(120)
    chunked = Stroke(7)
    parts = [chunked.take(n) for n in (1, 4, 4, 11, 100)]
    assert [v for p, _ in parts for v in p] == whole[0]
    assert Stroke(8).take(120) != whole


def test_deltas_are_flat_ints_with_optional_pressure() -> None:
    p, pr = Stroke(1).take(50)
    assert len(p) == 100 and pr is None
    assert all(type(v) is int for v in p)
    p, pr = Stroke(1, PenModel(pressure=True)).take(50)
    assert pr is not None and len(pr) == 50
    assert all(type(v) is int and 0 <= v <= 100 for v in pr)


@pytest.mark.parametrize("hz", [60.0, 120.0, 240.0])
def test_acceleration_and_speed_are_bounded(hz: float) -> None:
    model = PenModel(rate_hz=hz)
    dt = 1 / hz
    # Rounding moves each of three positions by <= 0.5: the second difference by <= 2.
    accel_px = model.max_accel * dt * dt + 2
    step_px = model.max_speed * dt + 1
    for seed in range(40):
        p, _ = Stroke(seed, model).take(240)
        for k in range(2, len(p), 2):
            assert abs(p[k] - p[k - 2]) <= accel_px and abs(p[k + 1] - p[k - 1]) <= accel_px
        assert all(abs(v) <= step_px for v in p)


def test_speed_varies_like_drawing() -> None:
    hz = 120.0
    speeds = []
    for seed in range(100):
        p, _ = Stroke(seed).take(240)
        speeds += [hz * (p[k] ** 2 + p[k + 1] ** 2) ** 0.5 for k in range(0, len(p), 2)]
    deciles = statistics.quantiles(speeds, n=10)
    assert deciles[0] < 250  # slow turns and pen-down starts
    assert 250 < deciles[4] < 800
    assert deciles[8] > 900  # quick sweeps
    assert max(speeds) <= 1500 + hz * 2**0.5  # rounding


def test_the_path_turns_smoothly() -> None:
    # The heading changes little between samples (no corners) except when nearly at rest.
    for seed in range(20):
        pts = _positions(Stroke(seed, PenModel(rate_hz=120.0)).take(240)[0])
        big = 0
        for a, b, c in zip(pts, pts[1:], pts[2:], strict=False):
            u = (b[0] - a[0], b[1] - a[1])
            v = (c[0] - b[0], c[1] - b[1])
            if min(abs(u[0]) + abs(u[1]), abs(v[0]) + abs(v[1])) < 4:
                continue  # direction of a 1-3 px step is mostly rounding
            if u[0] * v[0] + u[1] * v[1] < 0:
                big += 1  # a turn of more than 90 degrees within one sample
        assert big == 0, seed


def test_most_points_cost_one_byte_at_120_hz() -> None:
    ones = total = 0
    for seed in range(50):
        stroke = Stroke(seed)
        for _ in range(60):
            p, _ = stroke.take(4)
            px = py = 0
            for k in range(0, 8, 2):
                rx, ry = p[k] - px, p[k + 1] - py
                px, py = p[k], p[k + 1]
                total += 1
                ones += abs(rx) <= PAIR_MAX and abs(ry) <= PAIR_MAX
    assert ones / total > 0.9


def test_pressure_moves_gently() -> None:
    _, pr = Stroke(3, PenModel(pressure=True)).take(240)
    assert pr is not None
    assert max(abs(b - a) for a, b in itertools.pairwise(pr[10:])) <= 5


def test_pool_is_deterministic_and_the_uniform_contrast_stays_in_range() -> None:
    a = StrokePool(PenModel(), 40, size=8)
    b = StrokePool(PenModel(), 40, size=8)
    b.warm()
    assert a.get(3) == b.get(11) == (Stroke(3).take(40)[0], None, Stroke(3).first_pressure)
    p, pr = UniformStroke(1).take(100)
    assert pr is None and all(-7 <= v <= 7 for v in p) and len(p) == 200
