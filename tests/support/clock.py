"""
A monotonic clock that moves only when a test moves it, for the hub (`Hub(clock=...)`): rate
limits, presence throttling and send stalls then depend on what the test says, not on how fast a
loaded machine runs it. (tests/sim/vloop.py goes further: a whole event loop on virtual time.)
"""

from __future__ import annotations


class FakeClock:
    """
    Reads like time.monotonic; `advance` moves it on.
    """

    def __init__(self, start: float = 1000.0) -> None:
        # Not 0: the hub reads 0.0 as "never" (no presence sent yet, no tick yet).
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, secs: float) -> None:
        self.now += secs
