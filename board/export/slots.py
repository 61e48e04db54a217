"""
Who gets the next free export worker: exports before thumbnails.

A board list asks for a thumbnail per board, and each render holds a worker for its whole length:
first come, first served, a user's export would wait behind a page of thumbnails. So a waiting
export takes the next free worker before any waiting thumbnail, and thumbnails hold at most
`background_cap` workers at once (all but one when there are several), leaving the rest for
exports. A thumbnail already rendering is not interrupted: an export waits for at most that.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

W = TypeVar("W")


class SlotTimeout(Exception):
    """
    No slot came free for the caller within its timeout.
    """


class Slots(Generic[W]):
    """
    The pool's workers (or None for one to start), handed out by lane: urgent (exports) first,
    then background (thumbnails), each lane in arrival order as the condition wakes it.
    """

    def __init__(self, items: list[W], background_cap: int) -> None:
        self._free = list(items)
        self._cond = threading.Condition()
        self._urgent_waiting = 0
        self._background_busy = 0
        self.background_cap = background_cap

    def take(self, *, background: bool, timeout: float) -> W:
        """
        A free slot for this lane; raise SlotTimeout after `timeout` seconds without one.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if not background:
                self._urgent_waiting += 1
            try:
                while not self._may_take(background):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise SlotTimeout
                    self._cond.wait(left)
                if background:
                    self._background_busy += 1
                return self._free.pop()
            finally:
                if not background:
                    self._urgent_waiting -= 1

    def _may_take(self, background: bool) -> bool:
        if not self._free:
            return False
        if not background:
            return True
        return self._urgent_waiting == 0 and self._background_busy < self.background_cap

    def give(self, item: W, *, background: bool) -> None:
        """
        Hand a slot back (the lane it was taken for).
        """
        with self._cond:
            self._free.append(item)
            if background:
                self._background_busy -= 1
            self._cond.notify_all()

    def take_idle(self) -> list[W]:
        """
        Every free slot, now (closing the pool).
        """
        with self._cond:
            idle, self._free = self._free, []
            return idle

    def waiting_urgent(self) -> int:
        with self._cond:
            return self._urgent_waiting
