"""
The timer that writes the lazy frames of a loop's send queues (realtime.engine.sender): one for
the whole process, not one per socket per tick (a timer costs about what the write it saves).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

logger = logging.getLogger(__name__)

#: The longest a lazy frame waits for the socket's next frame before it is written on its own
#: (seconds): a tick, the pace cursors already keep.
LAZY_SECS = 0.02


class Lazy(Protocol):
    def flush_lazy(self) -> None: ...


class LazyFlusher:
    """
    The lazy frames of one event loop's send queues: written together LAZY_SECS after the first,
    by one timer, whatever the number of sockets.
    """

    __slots__ = ("_loop", "_queues", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: list[Lazy] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, queue: Lazy) -> None:
        self._queues.append(queue)
        if self._timer is None:
            self._timer = self._loop.call_later(LAZY_SECS, self.flush)

    def flush(self) -> None:
        """
        Write every waiting lazy frame (a queue whose next frame took them already has none).
        """
        queues, self._queues, self._timer = self._queues, [], None
        for queue in queues:
            try:
                queue.flush_lazy()
            except Exception:  # one socket's failure must not keep the others' frames back
                logger.exception("a lazy frame could not be written")


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LazyFlusher] = (
    weakref.WeakKeyDictionary()
)


def lazy_flusher() -> LazyFlusher:
    """
    The running loop's flusher, made on first use.
    """
    loop = asyncio.get_running_loop()
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = LazyFlusher(loop)
    return flusher
