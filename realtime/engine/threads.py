"""
The hub's database threads: one writer for the tick's commits and a few readers for the rest.

Every database call of the hub runs here, never on the event loop. The writer is a single thread
so its connection is reused between ticks and only one batch is ever in flight; the readers run
catch-ups, loads, gap fills, role checks and snapshots beside it, so a big catch-up never delays
a tick's commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

from realtime.engine import store

T = TypeVar("T")

#: Reader threads: two, so one slow snapshot cannot block a join.
READER_THREADS = 2
#: How long to wait for the threads to close their database connections on shutdown.
POOL_CLOSE_TIMEOUT_SECS = 5.0


class DatabaseThreads:
    """
    The writer thread and the reader threads of one hub.
    """

    def __init__(self) -> None:
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="inkroom-db-write")
        self._reader = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="inkroom-db-read")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """
        Run `fn` in the writer thread (append transactions only).
        """
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """
        Run `fn` in a reader thread; its database connection goes back to the pool after.
        """
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, store.released, fn, *args
        )

    async def close(self) -> None:
        """
        Release every thread's database connection and shut the pools down.
        """
        await asyncio.gather(
            _close_pool(self._writer, 1), _close_pool(self._reader, READER_THREADS)
        )


async def _close_pool(pool: ThreadPoolExecutor, threads: int) -> None:
    """
    Close the database connection of every thread of `pool`, then shut it down.
    """
    barrier = threading.Barrier(threads)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(POOL_CLOSE_TIMEOUT_SECS)
        connections.close_all()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(Exception):
        await asyncio.gather(*(loop.run_in_executor(pool, close) for _ in range(threads)))
    pool.shutdown(wait=False)
