"""
Admissions are batched, like the tick batches ops: the sockets that arrive while one batch is
being resolved go together in the next, in the process's admission thread. A reconnect wave of
thousands of sockets therefore costs a few round trips per batch, not four queries and a thread
hop per socket.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from realtime.asgi.admission.batch import admit_batch
from realtime.asgi.admission.handshake import Knock

#: Sockets resolved together at most: a batch's statement and its wait stay short.
ADMIT_BATCH_MAX = 256


class Admissions:
    """
    The admission batches of one event loop (process): sockets that knock while a batch is
    being resolved wait together for the next one, in the admission thread.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[Knock, asyncio.Future[dict[str, Any]]]] = []
        self.busy = False
        #: One thread: batches run one at a time, so they grow by themselves under load.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="inkroom-admit")
        self._task: asyncio.Task[None] | None = None

    async def admit(self, k: Knock) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.waiting.append((k, done))
        if not self.busy:
            self.busy = True
            # On the next turn of the loop: the sockets whose handshakes came in the same read
            # go in this batch too.
            loop.call_soon(self._next)
        return await done

    def _next(self) -> None:
        if not self.waiting:
            self.busy = False
            return
        batch = self.waiting[:ADMIT_BATCH_MAX]
        del self.waiting[:ADMIT_BATCH_MAX]
        self._task = asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[tuple[Knock, asyncio.Future[dict[str, Any]]]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self.executor, admit_batch, [k for k, _ in batch])
        except Exception as error:
            results = [error] * len(batch)
        finally:
            self._next()
        for (_, done), result in zip(batch, results, strict=True):
            if done.done():  # the socket went away meanwhile
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)


_admissions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admissions] = (
    weakref.WeakKeyDictionary()
)


def get_admissions() -> Admissions:
    """
    The admission batches of the running event loop (one per process under Hypercorn).
    """
    loop = asyncio.get_running_loop()
    admissions = _admissions.get(loop)
    if admissions is None:
        admissions = _admissions[loop] = Admissions()
    return admissions
