"""
Exports rendered outside the server process: worker processes, a budget, a cache (issue 15).

Rasterising holds the GIL for the whole render (resvg is called once, from Python), so a PNG
rendered in the server process froze every socket, the tick and the probes for seconds. Here the
request thread only reads bytes from the database (the latest snapshot <= seq and the log's tail)
and ships them to a worker process, which decodes the board, measures it against the budget and
renders it; the thread waits on a pipe with the GIL released.

* Workers: EXPORT_WORKERS processes per server process, forked from a forkserver (never from the
  server itself, which runs an event loop and threads), started on first use, at lower CPU
  priority, each under an address-space limit (EXPORT_MEMORY_MB). A render past
  EXPORT_TIMEOUT_SECS is killed with its worker, which is replaced; so is a worker that crashed
  or ran out of memory. One task per worker at a time; a caller waits up to the timeout for a
  free one. EXPORT_WORKERS = 0 renders in the calling thread (development only).
* Budget: glyphs (text characters) and points (stroke points plus POINTS_PER_ELEMENT per
  element), checked in the worker after decoding and before rendering. PNG spends both; SVG only
  points (text is copied, not drawn); JSON is the data itself and has no budget.
* Cache: rendered bodies by (board id, seq, format), at most EXPORT_CACHE_BYTES per process, least
  recently used out first; the log up to a seq never changes, so an entry never goes stale.
  Concurrent requests for the same key share one render.

The worker side (everything up to `_worker_main`) imports no Django models: the forkserver
preloads this module before Django is set up.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import queue
import resource
import signal
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

import msgpack

from board.conf import app_settings
from board.document import BoardState, replay
from board.exceptions import BoardError
from board.export import FORMAT_RENDERERS, ExportCost, ExportError, export_cost

logger = logging.getLogger(__name__)

#: Worker niceness: when cores are short, the scheduler prefers the event loop's process.
WORKER_NICE = 10
#: A cached "too large" verdict holds no body; this is what it counts against the cache size.
VERDICT_BYTES = 64
#: Entries above this share of the cache are not kept: one would evict everything else.
MAX_ENTRY_SHARE = 4
#: How long a worker gets to exit after SIGKILL before we stop waiting (seconds).
KILL_WAIT_SECS = 2.0


class ExportTooLarge(BoardError):
    """
    The board is above the export budget for this format (nothing was rendered).
    """

    code = "export_too_large"


class ExportUnavailable(BoardError):
    """
    The export could not be rendered now: its worker crashed or ran out of memory.
    """

    code = "export_unavailable"


class ExportBusy(ExportUnavailable):
    """
    Every export worker stayed busy for EXPORT_TIMEOUT_SECS.
    """

    code = "export_busy"


class ExportTimeout(ExportUnavailable):
    """
    The render took longer than EXPORT_TIMEOUT_SECS; its worker was killed.
    """

    code = "export_timeout"


@dataclass(frozen=True, slots=True)
class ExportSource:
    """
    A board at `seq` as stored: its latest snapshot <= seq and the log entries after it.
    """

    seq: int
    snapshot: bytes | None
    ops: list[bytes]


@dataclass(frozen=True, slots=True)
class Budget:
    """
    The most an export may cost (ExportCost units).
    """

    max_glyphs: int
    max_points: int

    @classmethod
    def from_settings(cls) -> Budget:
        return cls(
            max_glyphs=int(app_settings.EXPORT_MAX_GLYPHS),
            max_points=int(app_settings.EXPORT_MAX_POINTS),
        )

    def limits(self, fmt: str) -> dict[str, int]:
        """
        Return the bounds that apply to `fmt` (none for JSON).
        """
        if fmt == "png":
            return {"glyphs": self.max_glyphs, "points": self.max_points}
        if fmt == "svg":
            return {"points": self.max_points}
        return {}

    def fits(self, fmt: str, cost: ExportCost) -> bool:
        return all(getattr(cost, unit) <= bound for unit, bound in self.limits(fmt).items())


@dataclass(frozen=True, slots=True)
class Rendered:
    """
    A worker's answer: the body, or None when the cost was above the budget.
    """

    body: bytes | None
    cost: ExportCost


def materialise(source: ExportSource) -> BoardState:
    """
    Decode a board from its stored snapshot and log tail (board.snapshots.state_load's replay).
    """
    # The decoded maps hold no cycles: collections during the decode only cost time.
    gc.disable()
    try:
        if source.snapshot is None:
            state = BoardState()
        else:
            state = BoardState.from_snapshot(msgpack.unpackb(source.snapshot))
        return replay(state, (msgpack.unpackb(entry) for entry in source.ops))
    finally:
        gc.enable()


def run_export(fmt: str, source: ExportSource, budget: Budget) -> Rendered:
    """
    Decode, measure and (within `budget`) render: what a worker does for one export.
    """
    state = materialise(source)
    cost = export_cost(state)
    if not budget.fits(fmt, cost):
        return Rendered(None, cost)
    return Rendered(FORMAT_RENDERERS[fmt](state), cost)


def _limit_memory(max_bytes: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))


#: The answer of a worker that ran out of memory (it exits after sending it).
_OUT_OF_MEMORY = ("memory", "the export worker ran out of memory")


def _answer(fmt: str, source: ExportSource, budget: Budget) -> tuple[str, Any]:
    try:
        return ("ok", run_export(fmt, source, budget))
    except MemoryError:
        return _OUT_OF_MEMORY
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

    def call(self, task: tuple[str, ExportSource, Budget], timeout: float) -> tuple[str, Any]:
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
        # A slot is a worker, or None for one to start when the slot is taken.
        self._slots: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(workers):
            self._slots.put(None)
        self._closed = False

    def run(self, fmt: str, source: ExportSource, budget: Budget) -> Rendered:
        """
        Render in a worker; raise ExportBusy, ExportTimeout, ExportUnavailable or ExportError.
        """
        try:
            worker = self._slots.get(timeout=self.timeout)
        except queue.Empty:
            raise ExportBusy(
                f"Every export worker stayed busy for {self.timeout:g} s; try again later."
            ) from None
        try:
            if worker is not None and not worker.alive():  # died while idle
                self._discard(worker)
                worker = None
            if worker is None:
                worker = _Worker(self._ctx, self._memory_bytes)
            kind, value = worker.call((fmt, source, budget), self.timeout)
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
            self._slots.put(worker)
        if kind == "ok":
            rendered: Rendered = value
            return rendered
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
        while True:
            try:
                worker = self._slots.get_nowait()
            except queue.Empty:
                return
            self._discard(worker)


class InlinePool:
    """
    EXPORT_WORKERS = 0: render in the calling thread, no time or memory limit.
    """

    def run(self, fmt: str, source: ExportSource, budget: Budget) -> Rendered:
        return run_export(fmt, source, budget)

    def close(self) -> None:
        return


class ExportCache:
    """
    Rendered exports by key, least recently used out first, at most `max_bytes` of bodies.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[str, int, str], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _weight(rendered: Rendered) -> int:
        return len(rendered.body) if rendered.body is not None else VERDICT_BYTES

    def get(self, key: tuple[str, int, str]) -> Rendered | None:
        with self._lock:
            rendered = self._entries.get(key)
            if rendered is not None:
                self._entries.move_to_end(key)
            return rendered

    def put(self, key: tuple[str, int, str], rendered: Rendered) -> None:
        weight = self._weight(rendered)
        if weight > self.max_bytes // MAX_ENTRY_SHARE:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= self._weight(old)
            self._entries[key] = rendered
            self.size += weight
            while self.size > self.max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self.size -= self._weight(evicted)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class ExportStats:
    """
    Counters for tests and logs: renders done by the pool, answers from the cache, shared ones.
    """

    renders: int = 0
    cache_hits: int = 0
    shared: int = 0


class Exporter:
    """
    One process's exports: cache lookup, one render per key at a time, the pool, the budget.
    """

    def __init__(self, pool: WorkerPool | InlinePool, cache: ExportCache, timeout: float) -> None:
        self.pool = pool
        self.cache = cache
        self.timeout = timeout
        self.stats = ExportStats()
        self._inflight: dict[tuple[str, int, str], Future[Rendered]] = {}
        self._lock = threading.Lock()

    def export(self, board_id: str, seq: int, fmt: str, load: Callable[[], ExportSource]) -> bytes:
        """
        Return the body of `fmt` for the board at `seq`; `load` reads it from the database.

        Raises ExportTooLarge (above the budget) or an ExportUnavailable (busy, timeout, crash).
        """
        key = (board_id, seq, fmt)
        budget = Budget.from_settings()
        rendered = self.cache.get(key)
        # A cached "too large" verdict only holds while the budget is no larger.
        if rendered is None or (rendered.body is None and budget.fits(fmt, rendered.cost)):
            rendered = self._render_once(key, budget, load)
        else:
            self._count("cache_hits")
        if rendered.body is None:
            raise _too_large(fmt, rendered.cost, budget)
        return rendered.body

    def _render_once(
        self, key: tuple[str, int, str], budget: Budget, load: Callable[[], ExportSource]
    ) -> Rendered:
        with self._lock:
            future = self._inflight.get(key)
            leader = future is None
            if future is None:
                future = self._inflight[key] = Future()
        if not leader:
            self._count("shared")
            try:
                # The leader waits at most for a worker and then for the render.
                return future.result(timeout=2 * self.timeout + 5)
            except FutureTimeout:
                raise ExportBusy("The same export is still rendering; try again later.") from None
        try:
            rendered = self._render(key, budget, load)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(rendered)
            self.cache.put(key, rendered)
            return rendered
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def _render(
        self, key: tuple[str, int, str], budget: Budget, load: Callable[[], ExportSource]
    ) -> Rendered:
        board_id, seq, fmt = key
        source = load()
        started = time.monotonic()
        try:
            rendered = self.pool.run(fmt, source, budget)
        except ExportUnavailable as exc:
            logger.warning("export %s of board %s at seq %s: %s", fmt, board_id, seq, exc.code)
            raise
        self._count("renders")
        logger.info(
            "export %s of board %s at seq %s: %s glyphs, %s points: %s in %.2f s",
            fmt,
            board_id,
            seq,
            rendered.cost.glyphs,
            rendered.cost.points,
            "over budget" if rendered.body is None else f"{len(rendered.body)} bytes",
            time.monotonic() - started,
        )
        return rendered

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def close(self) -> None:
        self.pool.close()


def _too_large(fmt: str, cost: ExportCost, budget: Budget) -> ExportTooLarge:
    limits = budget.limits(fmt)
    over = ", ".join(
        f"{getattr(cost, unit):,} {unit} (limit {bound:,})"
        for unit, bound in limits.items()
        if getattr(cost, unit) > bound
    )
    return ExportTooLarge(
        f"The board is too large to export as {fmt.upper()}: {over}.",
        extra={"format": fmt, "glyphs": cost.glyphs, "points": cost.points, "limit": limits},
    )


_exporter: tuple[tuple[Any, ...], Exporter] | None = None
_exporter_lock = threading.Lock()


def _config() -> tuple[Any, ...]:
    return (
        int(app_settings.EXPORT_WORKERS),
        int(app_settings.EXPORT_MEMORY_MB),
        float(app_settings.EXPORT_TIMEOUT_SECS),
        int(app_settings.EXPORT_CACHE_BYTES),
    )


def get_exporter() -> Exporter:
    """
    Return this process's Exporter, rebuilt (pool and cache) when its settings changed.
    """
    global _exporter
    config = _config()
    with _exporter_lock:
        if _exporter is not None and _exporter[0] == config:
            return _exporter[1]
        if _exporter is not None:
            _exporter[1].close()
        workers, memory_mb, timeout, cache_bytes = config
        pool: WorkerPool | InlinePool = (
            WorkerPool(workers, memory_mb * 1024 * 1024, timeout) if workers > 0 else InlinePool()
        )
        exporter = Exporter(pool, ExportCache(cache_bytes), timeout)
        _exporter = (config, exporter)
        return exporter


def reset_exporter() -> None:
    """
    Close this process's Exporter (its workers and cache); the next export builds a new one.
    """
    global _exporter
    with _exporter_lock:
        if _exporter is not None:
            _exporter[1].close()
        _exporter = None
