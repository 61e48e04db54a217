"""
Export worker processes: a pool of them, each rendering one export at a time.

Rasterising holds the GIL for the whole render (resvg is called once, from Python), so a render
in the server process would freeze every socket, the tick and the probes for seconds. A worker
gets the stored bytes over a pipe and does the decoding, measuring and rendering itself
(board.export.task) while the calling thread waits on the pipe with the GIL released.

Workers are forked from a forkserver (never from the server itself, which runs an event loop and
threads), started on first use, at lower CPU priority, each under an address-space limit. A
render past the timeout is killed with its worker, which is replaced; so is a worker that
crashed or ran out of memory. A caller waits up to the timeout for a free worker, exports before
thumbnails (board.export.slots).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import traceback
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from board.export.budget import Budget
from board.export.errors import (
    ExportBusy,
    ExportError,
    ExportOptionError,
    ExportTimeout,
    ExportUnavailable,
)
from board.export.options import ExportOptions
from board.export.slots import Slots, SlotTimeout
from board.export.task import DEFAULT_OPTIONS, ExportSource, Rendered, run_export

logger = logging.getLogger(__name__)

#: Worker niceness: when cores are short, the scheduler prefers the event loop's process.
WORKER_NICE = 10
#: How long a worker gets to exit after SIGKILL before we stop waiting (seconds).
KILL_WAIT_SECS = 2.0


def _limit_memory(max_bytes: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))


#: The answer of a worker that ran out of memory (it exits after sending it).
_OUT_OF_MEMORY = ("memory", "the export worker ran out of memory")


def _answer(
    fmt: str, source: ExportSource, budget: Budget, options: ExportOptions = DEFAULT_OPTIONS
) -> tuple[str, Any]:
    try:
        return ("ok", run_export(fmt, source, budget, options))
    except MemoryError:
        return _OUT_OF_MEMORY
    except ExportOptionError as exc:
        return ("refused", (exc.field, exc.message))
    except ExportError as exc:
        return ("error", exc.message)
    except Exception:
        return ("bug", traceback.format_exc())


def _worker_main(conn: Connection, memory_bytes: int) -> None:
    """
    A worker process: answer (fmt, source, budget) tasks until the pipe closes.

    Answers ("ok", Rendered); ("error", message) when the rasteriser refused the SVG; ("bug",
    traceback) for any other exception; or ("memory", message) and exits, since a MemoryError can
    leave any state half-built.
    """
    # A Ctrl-C in the terminal reaches the whole process group; the server decides, and the
    # worker ends when its pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(WORKER_NICE)
    _limit_memory(memory_bytes)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the server process is gone
            return
        except MemoryError:  # the task itself did not fit
            answer = _OUT_OF_MEMORY
        else:
            answer = _answer(*task)
        try:
            conn.send(answer)
        except MemoryError:  # pickling the body needs it twice
            answer = _OUT_OF_MEMORY
            conn.send(answer)
        if answer is _OUT_OF_MEMORY:
            return


class _Worker:
    """
    One worker process and the parent's end of its pipe.
    """

    def __init__(self, ctx: ForkServerContext, memory_bytes: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=_worker_main,
            args=(child, memory_bytes),
            name="inkroom-export",
            daemon=True,  # ended by multiprocessing's exit handler with the server process
        )
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def call(
        self, task: tuple[str, ExportSource, Budget, ExportOptions], timeout: float
    ) -> tuple[str, Any]:
        """
        Send a task, wait up to `timeout` for its answer (GIL released while waiting).
        """
        self.conn.send(task)
        if not self.conn.poll(timeout):
            raise ExportTimeout(f"The export took longer than {timeout:g} s.")
        answer: tuple[str, Any] = self.conn.recv()
        return answer

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.join(KILL_WAIT_SECS)
        self.conn.close()


class WorkerPool:
    """
    EXPORT_WORKERS worker processes, started on first use; one task each at a time.
    """

    def __init__(self, workers: int, memory_bytes: int, timeout: float) -> None:
        self.timeout = timeout
        self._memory_bytes = memory_bytes
        self._ctx = multiprocessing.get_context("forkserver")
        # The forkserver imports the renderer once; workers fork from it ready to render.
        self._ctx.set_forkserver_preload([__name__])
        # A slot is a worker, or None for one to start when the slot is taken. Thumbnails leave
        # one worker to exports when there are several.
        self._slots: Slots[_Worker | None] = Slots([None] * workers, max(1, workers - 1))
        self._closed = False

    def run(
        self,
        fmt: str,
        source: ExportSource,
        budget: Budget,
        options: ExportOptions = DEFAULT_OPTIONS,
        *,
        background: bool = False,
    ) -> Rendered:
        """
        Render in a worker; raise ExportBusy, ExportTimeout, ExportUnavailable, ExportError or
        ExportOptionError. A `background` render (a thumbnail) waits behind every export.
        """
        try:
            worker = self._slots.take(background=background, timeout=self.timeout)
        except SlotTimeout:
            raise ExportBusy(
                f"Every export worker stayed busy for {self.timeout:g} s; try again later."
            ) from None
        try:
            if worker is not None and not worker.alive():  # died while idle
                self._discard(worker)
                worker = None
            if worker is None:
                worker = _Worker(self._ctx, self._memory_bytes)
            kind, value = worker.call((fmt, source, budget, options), self.timeout)
            if kind == "memory":  # the worker exits after saying so
                raise ExportUnavailable(f"The export could not be rendered: {value}.")
        except (ExportUnavailable, EOFError, OSError) as exc:
            # Killed on a timeout, dead after a crash, the kernel's OOM killer or a MemoryError:
            # the slot gets a fresh worker at its next use.
            self._discard(worker)
            worker = None
            if isinstance(exc, ExportUnavailable):
                raise
            raise ExportUnavailable(
                "The export worker stopped before finishing (out of memory, or a crash)."
            ) from exc
        finally:
            if self._closed:
                self._discard(worker)
                worker = None
            self._slots.give(worker, background=background)
        if kind == "ok":
            rendered: Rendered = value
            return rendered
        if kind == "refused":
            raise ExportOptionError(*value)
        if kind == "bug":
            logger.error("export %s failed in its worker:\n%s", fmt, value)
            raise ExportError("The export failed.")
        raise ExportError(value)

    @staticmethod
    def _discard(worker: _Worker | None) -> None:
        if worker is not None:
            worker.kill()

    def close(self) -> None:
        """
        Kill the idle workers now and busy ones when their task ends.
        """
        self._closed = True
        for worker in self._slots.take_idle():
            self._discard(worker)


class InlinePool:
    """
    EXPORT_WORKERS = 0: render in the calling thread, no time or memory limit.
    """

    def run(
        self,
        fmt: str,
        source: ExportSource,
        budget: Budget,
        options: ExportOptions = DEFAULT_OPTIONS,
        *,
        background: bool = False,
    ) -> Rendered:
        return run_export(fmt, source, budget, options)

    def close(self) -> None:
        return
