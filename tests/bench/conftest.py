"""
Fixtures of the load generator's receive-path tests: the shared send-time ring and a fake clock.
"""

from __future__ import annotations

import pytest

from bench import wsclient as wsclient_mod
from bench.replay_micro import FakeClock
from tests.bench.receivers import NOW_US, RING_SIZE


@pytest.fixture
def ring() -> memoryview:
    return memoryview(bytearray(8 * RING_SIZE * 8)).cast("q")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    clock.now_ns = NOW_US * 1000
    monkeypatch.setattr(wsclient_mod, "monotonic_ns", clock)
    return clock
