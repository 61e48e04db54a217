"""
The tick's pace (realtime.engine.pacing): ops go out at once while the process has CPU to spare,
ticks spread to TICK_MS as its CPU use grows, and cursors stay on the tick's cadence.
"""

from __future__ import annotations

import pytest

from realtime.engine.pacing import RAMP, WINDOW_SECS, TickPacer

TICK = 0.02


def loaded(cores: float, light: float = 0.25) -> TickPacer:
    """A pacer that has seen the process use `cores` of CPU for a long while."""
    pacer = TickPacer(TICK, light=light)
    wall = cpu = 0.0
    pacer.sample(wall, cpu)
    for _ in range(40):
        wall += WINDOW_SECS
        cpu += cores * WINDOW_SECS
        pacer.sample(wall, cpu)
    return pacer


def test_a_lightly_loaded_process_commits_ops_at_once() -> None:
    pacer = loaded(0.1)
    pacer.start(10.0)
    assert pacer.delay(10.001, ops=True, other=False) == 0


def test_a_busy_process_keeps_ticks_a_whole_tick_apart() -> None:
    pacer = loaded(0.9)
    pacer.start(10.0)
    assert pacer.delay(10.005, ops=True, other=False) == pytest.approx(0.015)


def test_the_gap_grows_with_cpu_use_between_the_thresholds() -> None:
    gaps = [loaded(0.25 + RAMP * share).gap() for share in (0.0, 0.25, 0.5, 1.0)]
    assert gaps == pytest.approx([0.0, TICK / 4, TICK / 2, TICK], abs=1e-4)


def test_zero_turns_the_idle_flush_off() -> None:
    assert loaded(0.0, light=0).gap() == TICK


def test_one_busy_window_does_not_switch_the_pace() -> None:
    pacer = loaded(0.05)
    pacer.sample(4.0 + WINDOW_SECS, 4.0 * 0.05 + WINDOW_SECS)  # a whole core for one window
    assert pacer.gap() < TICK


def test_cursors_wait_for_a_whole_tick_since_the_last_full_tick() -> None:
    pacer = loaded(0.0)
    assert pacer.start(10.0) is True  # full: cursors go
    assert pacer.start(10.004) is False  # an ops tick right after: cursors held
    assert pacer.delay(10.004, ops=False, other=True) == pytest.approx(0.016)
    assert pacer.start(10.02) is True


def test_nothing_to_do_waits_for_work() -> None:
    assert loaded(0.0).delay(1.0, ops=False, other=False) is None
