"""
Scenario F: catching up. A client that missed 10,000 ops reconnects; a board of 50,000 elements
is loaded cold. Both are timed from the upgrade request to `synced` (loopback, so this is server
time plus a few hundred microseconds of client parsing), split at `hello`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from time import monotonic_ns
from typing import Any

import msgpack
import uvloop

from bench import setup
from bench.scenarios import record
from bench.targets import INKROOM, Bench, started
from bench.wsclient import WsClient

MISSED_OPS = 10_000
BOARD_ELEMENTS = 50_000
#: Reconnects measured per case; the first on a board is also its cold load in the server.
REPEATS = 5


async def _time_sync(port: int, path: str) -> dict[str, Any]:
    marks: dict[str, Any] = {"ops": 0, "snap_elements": 0, "frames": 0}
    done = asyncio.get_running_loop().create_future()

    def on_message(ws: WsClient, is_text: bool, payload: bytes, now: int) -> None:
        marks["frames"] += 1
        if is_text:
            msg = json.loads(payload)
            if msg.get("type") == "hello":
                marks["hello_ns"] = now
            elif msg.get("type") == "synced" and not done.done():
                marks["synced_ns"] = now
                done.set_result(None)
            return
        msg = msgpack.unpackb(payload)
        if msg.get("t") == "ops":
            marks["ops"] += len(msg["ops"])
        elif msg.get("t") == "snap":
            marks["snap_elements"] += len(msg.get("els", []))

    ws = WsClient(on_message)
    t0 = monotonic_ns()
    await ws.connect("127.0.0.1", port, path)
    await asyncio.wait_for(done, 30)
    ws.close()
    return {
        "to_hello_ms": round((marks["hello_ns"] - t0) / 1e6, 2),
        "to_synced_ms": round((marks["synced_ns"] - t0) / 1e6, 2),
        "ops": marks["ops"], "snap_elements": marks["snap_elements"],
        "bytes": ws.bytes_in,
    }  # fmt: skip


def _case(port: int, board_id: str, since: int) -> dict[str, Any]:
    paths = [
        f"/ws/boards/{board_id}/?v=1&since={since}&client_id=benchf{k:04d}&token={ticket}"
        for k, ticket in enumerate(setup.tickets(board_id, REPEATS))
    ]
    runs = [uvloop.run(_time_sync(port, path)) for path in paths]
    synced = [r["to_synced_ms"] for r in runs]
    return {
        "cold_to_synced_ms": synced[0],
        "warm_median_to_synced_ms": round(statistics.median(synced[1:]), 2)
        if len(synced) > 1
        else None,
        "warm_max_to_synced_ms": max(synced[1:]) if len(synced) > 1 else None,
        "runs": runs,
    }


def scenario_f(bench: Bench) -> None:
    """Resync after 10,000 missed ops; cold load of a 50,000-element board."""
    missed = bench.n(MISSED_OPS)
    elements = bench.n(BOARD_ELEMENTS)
    bench.inkroom_env()
    resync_board, cold_board = setup.create_boards(2, "bench-f")
    head = setup.seed_strokes(resync_board, missed + 2000)
    setup.seed_elements(cold_board, elements)
    with started(bench, INKROOM) as procs:
        port = procs[0].port
        resync = _case(port, resync_board, since=head - missed)
        cold = _case(port, cold_board, since=0)
    rows = [
        {"scenario": "F", "target": INKROOM, "variant": f"resync {missed} missed", **resync,
         "goal": "<= 200 ms (warm board)",
         "goal_met": (resync["warm_max_to_synced_ms"] or 1e9) <= 200},
        {"scenario": "F", "target": INKROOM, "variant": f"cold {elements} elements", **cold,
         "goal": "<= 500 ms", "goal_met": cold["cold_to_synced_ms"] <= 500},
    ]  # fmt: skip
    for row in rows:
        row["note"] = (
            f"cold {row['cold_to_synced_ms']} ms, warm median {row['warm_median_to_synced_ms']} ms"
            f" (ops {row['runs'][0]['ops']}, snap els {row['runs'][0]['snap_elements']},"
            f" {row['runs'][0]['bytes']} B)"
        )
        record(bench, row)
