"""
Exports before thumbnails on the export workers (board.export.slots): a board list's thumbnails
must not make a user's download wait behind them. The workers here are stand-ins that render when
the test says so; what is checked is who gets a worker, and in which order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from board.export import workers as workers_module
from board.export.budget import Budget
from board.export.errors import ExportBusy
from board.export.workers import WorkerPool

BUDGET = Budget(max_glyphs=10**9, max_points=10**9)


class Renders:
    """
    Stand-in workers: each call records its format and blocks until `finish(fmt)`.
    """

    def __init__(self) -> None:
        self.started: list[str] = []
        self._gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def worker(self, *_args: Any) -> Any:
        renders = self

        class Worker:
            def alive(self) -> bool:
                return True

            def call(self, task: tuple[Any, ...], _timeout: float) -> tuple[str, Any]:
                fmt = task[0]
                with renders._lock:
                    renders.started.append(fmt)
                    gate = renders._gates.setdefault(fmt, threading.Event())
                gate.wait(10)
                return ("ok", fmt)

            def kill(self) -> None:
                return

        return Worker()

    def finish(self, fmt: str) -> None:
        with self._lock:
            self._gates.setdefault(fmt, threading.Event()).set()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Renders:
    fake = Renders()
    monkeypatch.setattr(workers_module, "_Worker", fake.worker)
    return fake


def _until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


@pytest.fixture
def threads() -> Iterator[Callable[..., threading.Thread]]:
    started: list[threading.Thread] = []

    def run(fn: Callable[[], Any]) -> threading.Thread:
        thread = threading.Thread(target=fn, daemon=True)
        thread.start()
        started.append(thread)
        return thread

    yield run
    for thread in started:
        thread.join(10)


def test_an_export_takes_the_worker_before_thumbnails_that_queued_first(renders, threads):
    pool = WorkerPool(1, 0, timeout=10)
    threads(lambda: pool.run("thumb", None, BUDGET, background=True))  # type: ignore[arg-type]
    _until(lambda: renders.started == ["thumb"])
    threads(lambda: pool.run("thumb2", None, BUDGET, background=True))  # type: ignore[arg-type]
    time.sleep(0.05)  # the second thumbnail queues before the export
    threads(lambda: pool.run("png", None, BUDGET))  # type: ignore[arg-type]
    _until(lambda: pool._slots.waiting_urgent() == 1)
    renders.finish("thumb")
    _until(lambda: len(renders.started) == 2)
    assert renders.started == ["thumb", "png"]
    renders.finish("png")
    _until(lambda: len(renders.started) == 3)
    renders.finish("thumb2")
    assert renders.started == ["thumb", "png", "thumb2"]


def test_thumbnails_leave_a_worker_free_for_exports(renders, threads):
    pool = WorkerPool(2, 0, timeout=0.2)
    threads(lambda: pool.run("thumb", None, BUDGET, background=True))  # type: ignore[arg-type]
    _until(lambda: renders.started == ["thumb"])
    with pytest.raises(ExportBusy):  # the other worker is kept for exports
        pool.run("thumb2", None, BUDGET, background=True)  # type: ignore[arg-type]
    renders.finish("svg")
    assert pool.run("svg", None, BUDGET) == "svg"  # type: ignore[arg-type]
    renders.finish("thumb")
