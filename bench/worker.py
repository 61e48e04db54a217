"""
A load-generator worker process: many clients on one uvloop event loop.

The parent (bench.load) hands each worker its clients, waits until every worker has connected
and synced them, then sends one "go" with absolute CLOCK_MONOTONIC times for the start and end
of drawing and the end of the drain. Workers report their Stats once, after the drain.
"""

from __future__ import annotations

import asyncio
import gc
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from time import monotonic_ns
from typing import Any

import uvloop

from bench.client import STROKE_APPS, BenchClient, ClientSpec, FrameDecoder, Stats
from bench.strokes import PenModel, StrokePool

#: Connects in flight per worker: enough to connect 2,000 sockets in seconds without a
#: handshake storm that would measure the server's accept queue instead of its steady state.
CONNECT_CONCURRENCY = 64
CONNECT_TIMEOUT_SECS = 30.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """
    What every worker of one run shares (picklable).
    """

    mode: str
    ring_name: str
    ring_size: int
    rate_hz: float
    points_per_op: int
    offer_deflate: bool
    protocol: int = 2
    pointer_hz: float = 120.0


def worker_main(conn: Connection, config: WorkerConfig, specs: list[ClientSpec]) -> None:
    """
    Process entry point (multiprocessing spawn target).
    """
    shm = SharedMemory(name=config.ring_name)
    ring = shm.buf.cast("q")
    # The strokes are drawn now, not while the server is measured.
    strokes = StrokePool(PenModel(rate_hz=config.pointer_hz), STROKE_APPS * config.points_per_op)
    if any(spec.draw for spec in specs):
        strokes.warm()
    # Everything built so far (modules, the bucket table) lives for the whole run: keep it out
    # of the collector's full passes, whose pauses would be measured as delivery latency.
    gc.collect()
    gc.freeze()
    try:
        uvloop.run(_run(conn, config, specs, ring, strokes))
    finally:
        ring.release()
        shm.close()


async def _run(
    conn: Connection,
    config: WorkerConfig,
    specs: list[ClientSpec],
    ring: memoryview,
    strokes: StrokePool,
) -> None:
    stats = Stats()
    # One decoder for all: a board's clients here receive the same `ops` payloads.
    decoder = FrameDecoder(ring, config.ring_size)
    clients = [
        BenchClient(
            spec,
            stats,
            ring,
            config.ring_size,
            config.mode,
            config.points_per_op,
            config.offer_deflate,
            decoder,
            protocol=config.protocol,
            strokes=strokes,
        )
        for spec in specs
    ]
    failures, failed = await _connect_all(clients)
    receivers: dict[int, int] = {}
    for client in clients:
        if client.synced.done() and not client.synced.exception() and not client.spec.slow:
            receivers[client.spec.board] = receivers.get(client.spec.board, 0) + 1
    deflate = sum(1 for c in clients if c.ws.deflate)
    conn.send(("ready", {"receivers": receivers, "failures": failures, "deflate": deflate}))
    t_go, t_stop, t_end = await _wait_go(conn)
    live = [c for c in clients if id(c) not in failed]
    await _sleep_until(t_go)
    for client in live:
        client.counting = True
    before = _transport_counts(live)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    period_ns = int(1e9 / config.rate_hz) if config.rate_hz > 0 else 0
    drawers = [
        asyncio.create_task(_draw(c, t_go, t_stop, period_ns, stats))
        for c in live
        if c.spec.draw and period_ns
    ]
    await _sleep_until(t_stop)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    after = _transport_counts(live)
    await asyncio.gather(*drawers)
    for client in live:
        if client.spec.slow:
            # A paused reader never sees its close frame: read the backlog (into throwaway
            # stats, it is no receiver) so the close code the server sent, if any, is known.
            client.stats = Stats()
            client.ws.resume_reading()
    await _sleep_until(t_end)
    for key in ("frames_in", "frames_out", "bytes_in", "bytes_out"):
        stats.counts[key] = after[key] - before[key]
    for client in live:
        if client.ws.closed.done():
            key = f"{'slow:' if client.spec.slow else ''}{client.ws.closed.result()}"
            stats.closes[key] = stats.closes.get(key, 0) + 1
        client.ws.close()
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    conn.send(("result", _export(stats, cpu)))


async def _connect_all(clients: list[BenchClient]) -> tuple[dict[str, Any], set[int]]:
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(client: BenchClient) -> None:
        async with sem:
            await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT_SECS)

    results = await asyncio.gather(*(one(c) for c in clients), return_exceptions=True)
    failed = [(c, r) for c, r in zip(clients, results, strict=True) if isinstance(r, BaseException)]
    kinds: dict[str, int] = {}
    for client, exc in failed:
        code = client.ws.close_code
        key = f"close {code}" if code else f"{type(exc).__name__}: {exc}"[:80]
        kinds[key] = kinds.get(key, 0) + 1
        client.ws.close()
    return {"count": len(failed), "kinds": kinds}, {id(c) for c, _ in failed}


async def _wait_go(conn: Connection) -> tuple[int, int, int]:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[Any] = loop.create_future()

    def readable() -> None:
        if not got.done():
            got.set_result(conn.recv())

    loop.add_reader(conn.fileno(), readable)
    try:
        msg = await got
    finally:
        loop.remove_reader(conn.fileno())
    _, t_go, t_stop, t_end = msg
    return int(t_go), int(t_stop), int(t_end)


async def _draw(client: BenchClient, t_go: int, t_stop: int, period_ns: int, stats: Stats) -> None:
    counts = stats.counts
    board = client.spec.board
    ws = client.ws
    # Random phase: real users do not all move their pens on the same millisecond.
    due = t_go + int(client.rng.random() * period_ns)
    while due < t_stop:
        delay = due - monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        now = monotonic_ns()
        if ws.transport is None or ws.transport.is_closing():
            return
        stats.sched_lag.record((now - due) // 1000)
        frame, points = client.next_frame()
        ws.send_binary(frame)
        counts["ops_sent"] += 1
        counts["frames_sent"] += 1
        counts["points_sent"] += points
        counts["bytes_sent_ops"] += len(frame) + (6 if len(frame) < 126 else 8)
        stats.sent_by_board[board] = stats.sent_by_board.get(board, 0) + 1
        due += period_ns
        if now - due > period_ns:
            # Fell behind (the generator is saturated): skip rather than burst, and let
            # sched_lag tell the reader the run is not trustworthy.
            due = now


def _transport_counts(clients: list[BenchClient]) -> dict[str, int]:
    out = {"frames_in": 0, "frames_out": 0, "bytes_in": 0, "bytes_out": 0}
    for c in clients:
        out["frames_in"] += c.ws.frames_in
        out["frames_out"] += c.ws.frames_out
        out["bytes_in"] += c.ws.bytes_in
        out["bytes_out"] += c.ws.bytes_out
    return out


async def _sleep_until(t_ns: int) -> None:
    delay = t_ns - monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


def _export(stats: Stats, cpu_secs: float) -> dict[str, Any]:
    return {
        "latency": stats.latency.to_state(),
        "ack": stats.ack.to_state(),
        "sched_lag": stats.sched_lag.to_state(),
        "sent_by_board": stats.sent_by_board,
        "counts": stats.counts,
        "errors": stats.errors,
        "closes": stats.closes,
        "cpu_secs": cpu_secs,
    }
