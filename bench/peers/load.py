"""
Load runs against a peer, through the bench's own load generator (bench.load, bench.worker).

bench.worker builds every client with its module-level `BenchClient`; a peer's workers rebind
that name to bench.peers.clients.make_client, in the spawned worker process only, so the same
connect / go / draw / drain / report loop that measures Inkroom drives the peers. bench.load's
run_load starts `bench.load.worker_main`; for a peer run that name points at `peer_worker_main`
for the duration of the call (the bench runs one load at a time, in one thread).

The Socket.IO relay sends each op to the room's other sockets only: its author is not a
receiver of its own ops, so they leave the expected deliveries (every other target delivers an
op to its author too: as an entry, an echo or a push_result).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import load, servers, worker
from bench.client import ClientSpec
from bench.peers.clients import HOCUSPOCUS, SOCKETIO, TLDRAW, make_client
from bench.targets import Bench, Layout


@dataclass(frozen=True, slots=True)
class PeerTarget:
    """
    A peer as the bench runs it: its server script and arguments, and its adapter (mode).
    """

    script: str
    mode: str
    #: The server stores documents: it gets a fresh DATA_DIR argument.
    stores: bool = True
    args: tuple[str, ...] = ()


PEER_TARGETS: dict[str, PeerTarget] = {
    "hocuspocus": PeerTarget("hocuspocus", HOCUSPOCUS),
    "tldraw": PeerTarget("tldraw", TLDRAW),
    "tldraw-snap": PeerTarget("tldraw", TLDRAW, args=("--persist", "snapshot")),
    "socketio": PeerTarget("socketio", SOCKETIO, stores=False),
}


def peer_worker_main(
    conn: Connection, config: worker.WorkerConfig, specs: list[ClientSpec]
) -> None:
    """
    bench.worker.worker_main, its clients built by the peers' adapters (spawn target).
    """
    setattr(worker, "BenchClient", make_client)  # noqa: B010
    worker.worker_main(conn, config, specs)


def run_peer_load(
    plan: load.LoadPlan, procs: list[servers.Server], on_go: Callable[[], None] | None = None
) -> dict[str, Any]:
    """
    bench.load.run_load with the peers' workers; the same figures, the same merge.
    """
    original = getattr(load, "worker_main")  # noqa: B009
    setattr(load, "worker_main", peer_worker_main)  # noqa: B010
    try:
        result = load.run_load(plan, procs, on_go)
    finally:
        setattr(load, "worker_main", original)  # noqa: B010
    if plan.mode == SOCKETIO:
        _exclude_authors(result)
    return result


def _exclude_authors(result: dict[str, Any]) -> None:
    # Every op was counted as expected at each receiver of its board, its author included.
    expected = result["expected_deliveries"] - (result["ops_sent"] - result["ops_rejected"])
    result["expected_deliveries"] = expected
    result["loss"] = expected - result["delivered"]
    result["loss_pct"] = round(100 * result["loss"] / expected, 3) if expected else 0.0
    result["author_excluded"] = True


def client_specs(layout: Layout, ports: list[int]) -> list[ClientSpec]:
    """
    One ClientSpec per client; boards are the peers' documents / rooms `r<board>`.
    """
    specs: list[ClientSpec] = []
    slot = 0
    for b, (clients, drawers) in enumerate(layout):
        for k in range(clients):
            specs.append(
                ClientSpec(
                    path="/", port=ports[slot % len(ports)], board=b, slot=slot, draw=k < drawers
                )
            )
            slot += 1
    return specs


def data_dir(name: str, port: int) -> Path:
    return servers.LOG_DIR / "peers" / f"{name}-{port}"


@contextlib.contextmanager
def started(bench: Bench, name: str) -> Iterator[list[servers.Server]]:
    """
    Start a peer's server on a fresh port with a fresh data directory; stop it afterwards.
    """
    target = PEER_TARGETS[name]
    port = bench.port()
    args = target.args
    if target.stores:
        data = data_dir(name, port)
        shutil.rmtree(data, ignore_errors=True)
        args = (str(data), *args)
    proc = servers.node_peer(name, target.script, port, args).start()
    try:
        yield [proc]
    finally:
        proc.stop()
