"""
One process's exports: the cache, one render per key at a time, the worker pool, the budget.

Concurrent requests for the same (board, seq, format) share one render. The Exporter is built
from the EXPORT_* settings on first use and rebuilt when they change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from board.conf import board_settings
from board.export.budget import Budget, ExportCost
from board.export.cache import ExportCache
from board.export.errors import ExportBusy, ExportTooLarge, ExportUnavailable
from board.export.options import ExportOptions
from board.export.task import DEFAULT_OPTIONS, ExportSource, Rendered
from board.export.workers import InlinePool, WorkerPool

logger = logging.getLogger(__name__)

#: What the cache and the in-flight renders are keyed by: board, seq, format and options.
ExportKey = tuple[str, int, str, ExportOptions]

#: Formats rendered for no one waiting on a download (the board list's thumbnails): they yield
#: the export workers to exports (board.export.slots).
BACKGROUND_FORMATS = frozenset({"thumb"})


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
        self._inflight: dict[ExportKey, Future[Rendered]] = {}
        self._lock = threading.Lock()

    def export(
        self,
        board_id: str,
        seq: int,
        fmt: str,
        load: Callable[[], ExportSource],
        options: ExportOptions = DEFAULT_OPTIONS,
    ) -> bytes:
        """
        Return the body of `fmt` for the board at `seq`; `load` reads it from the database.

        Raises ExportTooLarge (above the budget), an ExportUnavailable (busy, timeout, crash) or
        ExportOptionError (an option names what the board does not have).
        """
        key = (board_id, seq, fmt, options)
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
        self, key: ExportKey, budget: Budget, load: Callable[[], ExportSource]
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

    def _render(self, key: ExportKey, budget: Budget, load: Callable[[], ExportSource]) -> Rendered:
        board_id, seq, fmt, options = key
        source = load()
        started = time.monotonic()
        try:
            background = fmt in BACKGROUND_FORMATS
            rendered = self.pool.run(fmt, source, budget, options, background=background)
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


_exporter: tuple[tuple[int, int, float, int], Exporter] | None = None
_exporter_lock = threading.Lock()


def _config() -> tuple[int, int, float, int]:
    conf = board_settings()
    return (
        conf.export_workers,
        conf.export_memory_mb,
        conf.export_timeout_secs,
        conf.export_cache_bytes,
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
