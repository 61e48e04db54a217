"""
One load run: spread clients over worker processes, start them together, merge their figures.

The result is one flat dict (a JSON line): op deliveries and loss, latency and ack percentiles,
frames and bytes per second both ways, wire bytes per stroke point, server CPU and RSS, and the
load generator's own CPU so a reader can tell whether the generator was the bottleneck.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any

from bench.client import ClientSpec
from bench.hist import Histogram
from bench.servers import Server
from bench.worker import WorkerConfig, worker_main

#: Seconds between "go" and the first op, so every worker is waiting on its timer.
GO_MARGIN_SECS = 0.3
READY_TIMEOUT_SECS = 120.0
#: The send-time ring keeps this many seconds of each sender's ops.
RING_SECS = 60
_TICKS_PER_SEC = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class LoadPlan:
    """
    One run's clients and pacing.
    """

    specs: list[ClientSpec]
    mode: str
    rate_hz: float = 30.0
    points_per_op: int = 4
    duration: float = 20.0
    drain: float = 2.0
    workers: int = 2
    offer_deflate: bool = True
    #: Inkroom wire protocol the clients speak (docs/protocol.md): 2 sends stroke `add` and `app`
    #: ops as UP_ADD and UP_APP.
    protocol: int = 2
    #: Pointer sampling rate of the freehand strokes (bench.strokes).
    pointer_hz: float = 120.0


def run_load(
    plan: LoadPlan, servers: list[Server], on_go: Callable[[], None] | None = None
) -> dict[str, Any]:
    """
    Run the plan against already-started servers and return the merged figures.

    `on_go` runs as the drawing starts (e.g. to attach a profiler for the window).
    """
    slots = max(s.slot for s in plan.specs) + 1
    ring_size = 1 << max(10, math.ceil(math.log2(max(plan.rate_hz, 1) * RING_SECS)))
    shm = SharedMemory(create=True, size=slots * ring_size * 8)
    ctx = mp.get_context("spawn")
    config = WorkerConfig(
        plan.mode,
        shm.name,
        ring_size,
        plan.rate_hz,
        plan.points_per_op,
        plan.offer_deflate,
        plan.protocol,
        plan.pointer_hz,
    )
    nworkers = max(1, min(plan.workers, len(plan.specs)))
    pipes, procs = [], []
    try:
        for w in range(nworkers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main, args=(child, config, plan.specs[w::nworkers]), daemon=True
            )
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        ready = [_expect(p, "ready", READY_TIMEOUT_SECS) for p in pipes]
        t_go = time.monotonic_ns() + int(GO_MARGIN_SECS * 1e9)
        t_stop = t_go + int(plan.duration * 1e9)
        t_end = t_stop + int(plan.drain * 1e9)
        for p in pipes:
            p.send(("go", t_go, t_stop, t_end))
        _sleep_until(t_go)
        if on_go is not None:
            on_go()
        cpu0 = [s.cpu_secs() for s in servers]
        box0 = _box_busy_secs()
        _sleep_until(t_stop)
        cpu1 = [s.cpu_secs() for s in servers]
        box1 = _box_busy_secs()
        rss = sum(s.rss_bytes() for s in servers)
        results = [_expect(p, "result", plan.drain + 60) for p in pipes]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        shm.close()
        shm.unlink()
    server = {
        "server_cpu_pct": round(100 * (sum(cpu1) - sum(cpu0)) / plan.duration, 1),
        "server_cpu_pct_each": [
            round(100 * (b - a) / plan.duration, 1) for a, b in zip(cpu0, cpu1, strict=True)
        ],
        "server_rss_mib": round(rss / 2**20, 1),
    }
    merged = _merge(plan, ready, results)
    frames = merged["server_frames_in_per_s"] + merged["server_frames_out_per_s"]
    cpu_us = 1e6 * (sum(cpu1) - sum(cpu0)) / plan.duration
    # Server CPU per socket frame (either way) and per op delivery: the unit costs to optimise.
    server["server_us_per_frame"] = round(cpu_us / frames, 1) if frames else None
    deliveries = merged["deliveries_per_s"]
    server["server_us_per_delivery"] = round(cpu_us / deliveries, 2) if deliveries else None
    # Everything else on the box (PostgreSQL, Redis, other people's processes): a run whose
    # figures are distorted by a busy machine says so.
    box = 100 * (box1 - box0) / plan.duration
    server["box_cpu_pct"] = round(box, 1)
    server["other_cpu_pct"] = round(box - server["server_cpu_pct"] - merged["loadgen_cpu_pct"], 1)
    return {**merged, **server}


def _merge(
    plan: LoadPlan, ready: list[dict[str, Any]], results: list[dict[str, Any]]
) -> dict[str, Any]:
    receivers: dict[int, int] = {}
    for r in ready:
        for board, n in r["receivers"].items():
            receivers[board] = receivers.get(board, 0) + n
    counts: dict[str, int] = {}
    sent: dict[int, int] = {}
    errors: dict[str, int] = {}
    closes: dict[str, int] = {}
    hists = {k: Histogram() for k in ("latency", "ack", "sched_lag")}
    for r in results:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
        for b, n in r["sent_by_board"].items():
            sent[b] = sent.get(b, 0) + n
        for src, dst in ((r["errors"], errors), (r["closes"], closes)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
        for k, h in hists.items():
            h.merge(Histogram.from_state(r[k]))
    expected = sum(n * receivers.get(b, 0) for b, n in sent.items())
    d = plan.duration
    delivered = counts["delivered"]
    return {
        "clients": len(plan.specs),
        "connected": sum(receivers.values()),
        "connect_failures": sum(r["failures"]["count"] for r in ready),
        "connect_failure_kinds": _sum_dicts(r["failures"]["kinds"] for r in ready),
        "deflate_negotiated": sum(r["deflate"] for r in ready),
        "boards": len({s.board for s in plan.specs}),
        "drawers": sum(1 for s in plan.specs if s.draw),
        "rate_hz": plan.rate_hz,
        "points_per_op": plan.points_per_op,
        "pointer_hz": plan.pointer_hz,
        "duration_s": d,
        "ops_sent": counts["ops_sent"],
        "ops_acked": counts["acked"],
        "ops_rejected": counts["rejected"],
        "expected_deliveries": expected,
        "delivered": delivered,
        "loss": expected - delivered,
        "loss_pct": round(100 * (expected - delivered) / expected, 3) if expected else 0.0,
        "duplicates": counts["duplicates"],
        # Deliveries counted when their tentative arrived (protocol §2.6), those of them whose
        # committed entry then arrived too, and tentatives the server withdrew.
        "tentative_delivered": counts["tentative"],
        "tentative_confirmed": counts["confirmed"],
        "tentative_dropped": counts["tentative_dropped"],
        "ops_frames_received": counts["ops_frames_in"],
        "foreign_entries": counts["foreign_entries"],
        "seq_gaps": counts["seq_gaps"],
        "deliveries_per_s": round(delivered / d),
        "latency_ms": hists["latency"].summary_ms(),
        "ack_ms": hists["ack"].summary_ms(),
        "server_frames_in_per_s": round(counts["frames_out"] / d),
        "server_frames_out_per_s": round(counts["frames_in"] / d),
        "wire_in_bytes_per_s": round(counts["bytes_out"] / d),
        "wire_out_bytes_per_s": round(counts["bytes_in"] / d),
        "up_bytes_per_point": _ratio(counts["bytes_sent_ops"], counts["points_sent"]),
        "down_bytes_per_point": _ratio(counts["ops_bytes_in"], counts["points_delivered"]),
        # The v2 handle definitions' share of down_bytes_per_point (0 on v1).
        "down_defs_bytes_per_point": _ratio(counts["defs_bytes_in"], counts["points_delivered"]),
        "defs_frames_received": counts["defs_frames_in"],
        "loadgen_cpu_pct": round(100 * sum(r["cpu_secs"] for r in results) / d, 1),
        "loadgen_sched_lag_p99_ms": hists["sched_lag"].summary_ms()["p99"],
        "errors": errors,
        "closes": closes,
    }


def _box_busy_secs() -> float:
    """
    CPU seconds the whole machine spent busy (all CPUs), from /proc/stat.
    """
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICKS_PER_SEC


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 2) if b else None


def _sum_dicts(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _expect(pipe: Any, kind: str, timeout: float) -> dict[str, Any]:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a load-generator worker sent no {kind!r} within {timeout} s")
    got, payload = pipe.recv()
    if got != kind:
        raise RuntimeError(f"worker sent {got!r}, expected {kind!r}")
    return payload


def _sleep_until(t_ns: int) -> None:
    delay = (t_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)
