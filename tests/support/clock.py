"""
A monotonic clock that moves only when a test moves it, for the hub (`Hub(clock=...,
sleep=...)`): rate limits, presence throttling, send stalls and gap waits then depend on what the
test says, not on how fast a loaded machine runs it. (tests/sim/vloop.py goes further: a whole
event loop on virtual time.)
"""

from __future__ import annotations

import asyncio


class FakeClock:
    """
    Reads like time.monotonic; `advance` moves it on.
    """

    def __init__(self, start: float = 1000.0) -> None:
        # Not 0: the hub reads 0.0 as "never" (no presence sent yet, no tick yet).
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, secs: float) -> None:
        self.now += secs
        due = [(at, f) for at, f in self._sleepers if at <= self.now]
        self._sleepers = [(at, f) for at, f in self._sleepers if at > self.now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    async def sleep(self, secs: float) -> None:
        """
        Like asyncio.sleep, on this clock: returns once `advance` has moved it `secs` on.
        """
        if secs <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + secs, future))
        await future
