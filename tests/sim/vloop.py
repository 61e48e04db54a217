"""
An asyncio event loop on a virtual clock: when nothing is ready, time jumps to the next timer.

The simulation does no real I/O, so the selector never has anything to report: `select(timeout)`
only moves the clock on by `timeout`. Everything then runs in one deterministic order for a
given seed, and a simulated minute takes milliseconds.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Deadlock(RuntimeError):
    """
    Nothing is ready and no timer is set: the simulated world can never move again.
    """


class _VirtualSelector(selectors.SelectSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            raise Deadlock("nothing scheduled")
        if timeout > 0:
            self._clock.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(clock))
        self.clock = clock

    def time(self) -> float:
        return self.clock.now
