"""
Clients that keep drawing through a fault, and the check that nothing was lost.

`Crowd` runs real-protocol clients (tests/support/wsclient.py) against the cluster's nginx: each
draws a stroke every DRAW_INTERVAL_SECS whether or not it is connected (offline ops wait in its
outbox), notices a close at once, and reconnects through nginx with a short jittered backoff,
timing how long it was away. `verify` then holds every client against the durable log.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from websockets.exceptions import WebSocketException

from board.document import BoardState, replay
from tests.cluster.localcluster import LocalCluster, LogRow
from tests.support.wsclient import BoardClient, converge

#: Pause between strokes of one client (seconds): 3 ops per stroke, so ~60 ops/s per client,
#: well under the 300 ops/s per-client budget and enough to have ops in flight at any instant.
DRAW_INTERVAL_SECS = 0.05
#: Reconnect backoff (seconds), plus up to as much again of jitter, like the browser client.
RECONNECT_BACKOFF_SECS = 0.1
#: Errors that mean "this connect attempt failed, try again" (refused, reset, handshake, 5xx).
CONNECT_ERRORS = (OSError, TimeoutError, ConnectionError, WebSocketException)


@dataclass
class Crowd:
    """
    Clients of one board drawing continuously through the cluster's load balancer.
    """

    url: str
    headers: Mapping[str, str]
    clients: list[BoardClient] = field(default_factory=list)
    reconnect_secs: list[float] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def join(self, count: int) -> list[BoardClient]:
        """
        Connect `count` new clients (one at a time, so round robin spreads them) and start them.
        """
        joined = []
        for _ in range(count):
            client = BoardClient(
                self.url, headers=self.headers, name=f"client{len(self.clients) + 1}"
            )
            await self._connect(client, time.monotonic(), record=False)
            self.clients.append(client)
            joined.append(client)
            self._tasks.append(asyncio.create_task(self._draw(client), name=client.name))
        return joined

    async def probe(self, timeout: float = 20.0) -> float:
        """
        Draw a marker stroke and return the seconds until every client shows it (end to end:
        submit, commit, fan-out through every pod, or a client's resync filling the gap).
        """
        started = time.monotonic()
        marker = await self.clients[0].draw_stroke(points=2, chunk=2)
        while not all(marker in client.state.elements for client in self.clients):
            if time.monotonic() - started > timeout:
                missing = [c.name for c in self.clients if marker not in c.state.elements]
                raise AssertionError(f"marker stroke not seen in {timeout} s by {missing}")
            await asyncio.sleep(0.01)
        return time.monotonic() - started

    async def stop(self) -> None:
        """
        Stop drawing, then make sure every client is connected and has no unacked op left.
        """
        self._stop.set()
        await asyncio.gather(*self._tasks)
        for client in self.clients:
            if not client.connected:
                await self._connect(client, time.monotonic(), record=True)
        for client in self.clients:
            await client.wait_acked(timeout=20)

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    async def _draw(self, client: BoardClient) -> None:
        rng = random.Random(client.client_id)
        while not self._stop.is_set():
            if not client.connected:
                await self._connect(client, time.monotonic(), record=True)
                continue
            with contextlib.suppress(*CONNECT_ERRORS):
                await client.draw_stroke(points=6, chunk=3, x=rng.randrange(2000))
            with contextlib.suppress(TimeoutError):
                # Wakes at once on a close, so the reconnect clock starts when the socket died.
                await client.wait_disconnected(DRAW_INTERVAL_SECS)

    async def _connect(self, client: BoardClient, down_at: float, *, record: bool) -> None:
        deadline = down_at + 30
        while True:
            try:
                await client.connect(self.url, timeout=5)
            except CONNECT_ERRORS:
                if time.monotonic() > deadline:
                    raise
                # Offline drawing continues in the outbox meanwhile, like a real user.
                if not self._stop.is_set():
                    await client.draw_stroke(points=3, chunk=3)
                await asyncio.sleep(RECONNECT_BACKOFF_SECS * (1 + random.random()))
                continue
            if record:
                self.reconnect_secs.append(time.monotonic() - down_at)
            return


@dataclass
class FaultReport:
    """
    The figures a fault test prints: cluster size, work done, reconnect times, ops lost.
    """

    fault: str
    pods: int
    clients: int
    ops_in_log: int
    reconnects: list[float]
    ops_lost: int
    close_codes: Counter[int]
    errors: Counter[str]
    recovery_secs: float | None = None

    def line(self) -> str:
        times = sorted(self.reconnects)
        spread = (
            f"median {statistics.median(times) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
            if times
            else "none"
        )
        return (
            f"[cluster fault] {self.fault}: pods_after={self.pods} clients={self.clients} "
            f"ops_in_log={self.ops_in_log} reconnects={len(times)} ({spread}) "
            f"recovered_in={self.recovery_ms} ops_lost={self.ops_lost} "
            f"closes={dict(self.close_codes)} errors={dict(self.errors)}"
        )

    @property
    def recovery_ms(self) -> str:
        return "n/a" if self.recovery_secs is None else f"{self.recovery_secs * 1000:.0f}ms"


def _refusals(client: BoardClient) -> list[str]:
    return [
        f"op {i}: {e.get('code')}: {e.get('message')}"
        for e in client.errors
        if e.get("code") != "unavailable"
        for i in e.get("ids") or []
        if i in client.rejected
    ]


def _check_log(rows: list[LogRow]) -> dict[tuple[str, int], int]:
    seqs = [row.seq for row in rows]
    assert seqs == list(range(1, len(rows) + 1)), "the log's seqs are not 1..n without gaps"
    keys = {(row.client_id, row.client_op_id): row.seq for row in rows}
    assert len(keys) == len(rows), "an op is stored more than once"
    return keys


async def verify(
    cluster: LocalCluster,
    board_id: str,
    crowd: Crowd,
    fault: str,
    recovery_secs: float | None = None,
) -> FaultReport:
    """
    Assert every client equals the durable log and every acked op is in it exactly once.
    """
    rows = cluster.log(board_id)
    stored = _check_log(rows)
    await converge(crowd.clients, len(rows), timeout=20)
    expected = replay(BoardState(), [row.entry for row in rows])
    lost = 0
    ours = {client.client_id: client for client in crowd.clients}
    for client in crowd.clients:
        assert not client.outbox, f"{client.name} still has unacked ops"
        # Every op these clients send is valid when sent; a refusal means the server validated
        # against a state that is not the log's (the op is then lost to the user).
        assert not client.rejected, (
            f"{client.name}: {len(client.rejected)} valid ops refused, e.g. {_refusals(client)[:3]}"
        )
        lost += sum(1 for i, s in client.acked.items() if stored.get((client.client_id, i)) != s)
        assert client.applied == len(rows), f"{client.name} at {client.applied} of {len(rows)}"
        assert list(client.state.elements) == list(expected.elements), f"{client.name} z-order"
        assert client.state.elements == expected.elements, f"{client.name} differs from the log"
    # The other direction: every stored op was acked to its author with its seq.
    for (client_id, op_id), seq in stored.items():
        assert ours[client_id].acked.get(op_id) == seq, f"stored op {client_id}/{op_id} not acked"
    assert lost == 0, f"{lost} acked ops are missing from the log"
    return FaultReport(
        fault=fault,
        pods=len(cluster.pods()),
        clients=len(crowd.clients),
        ops_in_log=len(rows),
        reconnects=list(crowd.reconnect_secs),
        ops_lost=lost,
        close_codes=Counter(int(code or 0) for c in crowd.clients for code in c.close_codes),
        errors=Counter(e["code"] for c in crowd.clients for e in c.errors),
        recovery_secs=recovery_secs,
    )
