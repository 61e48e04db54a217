"""
Scenario R: a reconnect storm (issue 18, section 1b).

Two Inkroom processes share PostgreSQL and the Redis layer. N sockets (2,000 times `--scale`,
boards of R_PER_BOARD) join pod 1 and half of them draw slowly, so boards move on and a
rejoining socket's `since` matters. Pod 1 is then SIGKILLed: every socket sees its connection
vanish and rejoins pod 2 at once with `since` = the last seq it applied and a fresh ticket, as
the browser client does; drawers keep drawing into their outbox while away and resend what was
not acknowledged once synced (protocol §4, "Reconnect").

Measured: joins/s on pod 2 (sockets synced again over the time from the first reconnect to the
last `synced`), pod 2's CPU per join (utime+stime over the storm, from the kill to the last
`synced`, divided by the joins; also net of the drawing it serves meanwhile, estimated from its
rate once every socket is back), the time from the kill until every socket is synced, and the
join latency of each socket (reconnect start to `hello` and to `synced`). Checked afterwards:
every acknowledged op is in the log at the seq it was acknowledged with, every socket applied
its board up to the head, and no socket saw a duplicate or a gap.

Clients speak protocol v1 (msgpack `ops` frames), which lets them read acks and seqs without
the v2 handle tables (a v2 join differs only by the DEFS/CONT frames after `synced`), and take
presence as deltas, as the browser does. Pod 2 serves R_RESIDENTS sockets of its own from the
start, as a pod of a cluster does: the storm does not pay for building its hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import resource
import signal
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from time import monotonic_ns
from typing import Any

import msgpack
import uvloop

from bench import profile, setup
from bench.load import _box_busy_secs
from bench.scenarios import record
from bench.servers import LOG_DIR, Server
from bench.targets import INKROOM, Bench, started
from bench.wsclient import WsClient

#: Sockets on the killed pod at --scale 1.
R_SOCKETS = 2000
#: Sockets per board: 40 boards at 2,000 sockets, each a cold room on the survivor
#: (BENCH_R_PER_BOARD=2000 puts them all on one board: what grows with the room).
R_PER_BOARD = int(os.environ.get("BENCH_R_PER_BOARD", "50"))
#: A drawer sends one op this often (half the sockets draw): slow enough that the storm, not the
#: fan-out of drawing, is what pod 2 spends its CPU on, fast enough that boards move on while
#: sockets are away (~6 ops/s per board). BENCH_R_DRAW_PERIOD_SECS=0: nobody draws.
R_DRAW_PERIOD_SECS = float(os.environ.get("BENCH_R_DRAW_PERIOD_SECS", "4"))
#: Seconds of drawing on pod 1 before the kill (capped by --duration).
R_WARM_SECS = 5.0
#: Seconds of drawing on pod 2 after every socket is synced again, then the drain.
R_AFTER_SECS = 3.0
R_DRAIN_SECS = 2.0
#: Idle sockets pod 2 holds from the start (its own clients): the storm meets a serving
#: process, not one that builds its hub and imports the channel layer on the first join.
R_RESIDENTS = 20
#: Appends per stroke (then a new `add`).
R_STROKE_APPS = 20
#: Connects in flight per worker, to pod 1 (setting the scene, not measured) and to pod 2 (the
#: storm: as many as the listen backlog takes, so the server, not the client, sets the pace).
PREPARE_CONCURRENCY = 64
STORM_CONCURRENCY = 1024
#: A socket not synced on pod 2 this long after the kill counts as failed.
STORM_TIMEOUT_SECS = 120.0
CLIENT_PREFIX = "rstorm"
_STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
#: Distinct `ops` payloads a worker remembers decoded (every client of a board gets the same).
DECODE_CACHE = 4096


@dataclass(frozen=True, slots=True)
class RSpec:
    """
    One client (picklable): its slot, board, whether it draws, and its tickets for both pods.
    """

    slot: int
    board: int
    board_id: str
    draw: bool
    #: Pod 1, pod 2, and pod 2 again should the first rejoin fail after spending its ticket.
    tickets: tuple[str, str, str]


@dataclass(slots=True)
class Marks:
    """
    One client's storm timeline (CLOCK_MONOTONIC ns; 0: did not happen).
    """

    lost: int = 0
    start: int = 0
    opened: int = 0
    hello: int = 0
    synced: int = 0
    attempts: int = 0


@dataclass(slots=True)
class Counts:
    """
    A worker's counters, summed by the parent.
    """

    dups: int = 0
    gaps: int = 0
    sent: int = 0
    resent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


class Decoded:
    """
    The (seq, client_id, op id) of each entry of an `ops` payload, decoded once per worker.
    """

    def __init__(self) -> None:
        self.frames: dict[bytes, list[tuple[int, str, int]]] = {}

    def entries(self, payload: bytes, msg: dict[str, Any]) -> list[tuple[int, str, int]]:
        if len(self.frames) >= DECODE_CACHE:
            self.frames.clear()
        got = self.frames[payload] = [(e["s"], e.get("c", ""), e.get("i", 0)) for e in msg["ops"]]
        return got


class RClient:
    """
    A client that keeps an outbox, applies the log in seq order and rejoins with `since`.
    """

    def __init__(self, spec: RSpec, counts: Counts, decoded: Decoded) -> None:
        self.spec = spec
        self.cid = f"{CLIENT_PREFIX}{spec.slot:06d}"
        self.counts = counts
        self.decoded = decoded
        self.applied = 0
        self.acked: dict[int, int] = {}
        #: Sent or drawn offline, not acknowledged yet, in op-id order.
        self.unacked: dict[int, bytes] = {}
        self.next_i = 1
        self.stroke = 0
        self.stroke_left = 0
        self.rng = random.Random(spec.slot)
        self.ws: WsClient | None = None
        self.live = False
        self.synced: asyncio.Future[None] | None = None
        self.marks = Marks()
        self.pod = 0

    def path(self, ticket: str) -> str:
        return (
            f"/ws/boards/{self.spec.board_id}/?v=1&since={self.applied}"
            f"&client_id={self.cid}&token={ticket}&presence=delta"
        )

    async def join(self, port: int, pod: int) -> None:
        """
        Open a socket to `port` with `since` = what this client applied; wait for `synced`.
        """
        loop = asyncio.get_running_loop()
        self.pod = pod
        self.live = False
        self.synced = loop.create_future()
        ws = self.ws = WsClient(self.on_message, offer_deflate=False)
        ticket = self.spec.tickets[0]
        if pod == 1:
            self.marks.start = self.marks.start or monotonic_ns()
            self.marks.attempts += 1
            ticket = self.spec.tickets[min(self.marks.attempts, 2)]
        await ws.connect("127.0.0.1", port, self.path(ticket))
        if pod == 1:
            self.marks.opened = monotonic_ns()
        ws.closed.add_done_callback(lambda f: self._closed(ws, f))
        await asyncio.wait((self.synced, ws.closed), return_when=asyncio.FIRST_COMPLETED)
        if not self.synced.done():
            raise ConnectionError(f"closed {ws.closed.result()} before synced")
        self.live = True
        if pod == 1:
            # Resend every op not acknowledged, in order (protocol §4): those pod 1 stored are
            # acked with their original seq, the rest are stored now.
            for frame in list(self.unacked.values()):
                ws.send_binary(frame)
                self.counts.resent += 1

    def _closed(self, ws: WsClient, fut: asyncio.Future[int]) -> None:
        if ws is not self.ws:
            return
        self.live = False
        key = f"pod{self.pod + 1}:{fut.result()}"
        self.counts.closes[key] = self.counts.closes.get(key, 0) + 1
        if self.pod == 0 and not self.marks.lost:
            self.marks.lost = monotonic_ns()

    def draw_one(self) -> None:
        """
        The next op of the current stroke: into the outbox, and on the wire if connected.
        """
        i = self.next_i
        self.next_i += 1
        if self.stroke_left <= 0:
            self.stroke += 1
            self.stroke_left = R_STROKE_APPS
            el = {
                "id": f"{self.cid}-{self.stroke}",
                "type": "stroke",
                "x": self.rng.randint(-5000, 5000),
                "y": self.rng.randint(-5000, 5000),
                "style": _STYLE,
                "p": [0, 0],
            }
            op: dict[str, Any] = {"i": i, "k": "add", "el": el}
        else:
            self.stroke_left -= 1
            pts = [self.rng.randint(-7, 7) for _ in range(8)]
            op = {"i": i, "k": "app", "id": f"{self.cid}-{self.stroke}", "p": pts}
        frame: bytes = msgpack.packb({"t": "ops", "ops": [op]})
        self.unacked[i] = frame
        if self.live and self.ws is not None:
            self.ws.send_binary(frame)
            self.counts.sent += 1

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now: int) -> None:
        if ws is not self.ws:
            return
        if is_text:
            self._on_text(json.loads(payload), now)
            return
        known = self.decoded.frames.get(payload)
        if known is not None:
            self._on_entries(known)
            return
        msg = msgpack.unpackb(payload)
        kind = msg.get("t")
        if kind == "ops":
            self._on_entries(self.decoded.entries(payload, msg))
        elif kind == "snap":
            self.applied = int(msg["s"])
        elif kind == "ack":
            for i, seq in msg["a"]:
                self._acked(int(i), int(seq))

    def _on_entries(self, entries: list[tuple[int, str, int]]) -> None:
        cid = self.cid
        for seq, c, i in entries:
            if seq <= self.applied:
                self.counts.dups += 1
                self._sample("dup", seq)
                continue
            if seq != self.applied + 1:
                self.counts.gaps += 1
                self._sample("gap", seq)
            self.applied = seq
            if c == cid:
                self._acked(i, seq)

    def _sample(self, kind: str, seq: int) -> None:
        # A few examples of what went wrong, for the row: which pod, synced yet or not.
        if len(self.counts.samples) < 10:
            self.counts.samples.append(
                f"{kind} s={seq} applied={self.applied} pod={self.pod + 1} live={self.live}"
            )

    def _acked(self, i: int, seq: int) -> None:
        self.acked[i] = seq
        self.unacked.pop(i, None)

    def _on_text(self, msg: dict[str, Any], now: int) -> None:
        kind = msg.get("type")
        if kind == "hello":
            if self.pod == 1:
                self.marks.hello = now
        elif kind == "synced":
            self.applied = max(self.applied, int(msg["seq"]))
            if self.pod == 1:
                self.marks.synced = now
            if self.synced is not None and not self.synced.done():
                self.synced.set_result(None)
        elif kind == "error":
            code = str(msg.get("code"))
            self.counts.errors[code] = self.counts.errors.get(code, 0) + 1
            if code == "unavailable" and msg.get("ids"):
                # Not stored: the op stays in the outbox; resend from it a little later, as the
                # browser client does (ops after it are refused the same way until then).
                asyncio.get_running_loop().call_later(0.5, self._resend_from, min(msg["ids"]))

    def _resend_from(self, first: int) -> None:
        ws = self.ws
        if not self.live or ws is None:
            return
        for i, frame in list(self.unacked.items()):
            if i >= first:
                ws.send_binary(frame)
                self.counts.resent += 1


async def _draw(client: RClient, stop: asyncio.Event) -> None:
    # Random phase: drawers do not all send on the same millisecond.
    await asyncio.sleep(client.rng.random() * R_DRAW_PERIOD_SECS)
    while not stop.is_set():
        client.draw_one()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), R_DRAW_PERIOD_SECS)


async def _gather_limited(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with sem:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def _worker(
    conn: Connection, specs: list[RSpec], residents: list[RSpec], ports: tuple[int, int]
) -> None:
    uvloop.run(_worker_run(conn, specs, residents, ports))


async def _recv(conn: Connection) -> Any:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[Any] = loop.create_future()

    def readable() -> None:
        if not got.done():
            got.set_result(conn.recv())

    loop.add_reader(conn.fileno(), readable)
    try:
        return await got
    finally:
        loop.remove_reader(conn.fileno())
        # The loop made the pipe non-blocking; a big result must not fail with EAGAIN.
        os.set_blocking(conn.fileno(), True)


async def _worker_run(
    conn: Connection, specs: list[RSpec], residents: list[RSpec], ports: tuple[int, int]
) -> None:
    counts = Counts()
    decoded = Decoded()
    clients = [RClient(s, counts, decoded) for s in specs]
    # The survivor serves sockets of its own before the storm, as a pod of a cluster does.
    stay = [RClient(s, Counts(), decoded) for s in residents]
    results = await _gather_limited(
        [asyncio.wait_for(c.join(ports[1], 0), 60) for c in stay]
        + [asyncio.wait_for(c.join(ports[0], 0), 60) for c in clients],
        PREPARE_CONCURRENCY,
    )
    failed = sum(1 for r in results if isinstance(r, BaseException))
    conn.send(("ready", {"failed": failed}))
    await _recv(conn)  # "draw"
    stop = asyncio.Event()
    drawers = [
        asyncio.create_task(_draw(c, stop)) for c in clients if c.spec.draw and R_DRAW_PERIOD_SECS
    ]
    ru0 = resource.getrusage(resource.RUSAGE_SELF)

    storm_slots = asyncio.Semaphore(STORM_CONCURRENCY)

    async def rejoin(client: RClient) -> None:
        ws = client.ws
        assert ws is not None
        await ws.closed  # pod 1 is killed: the kernel resets the connection
        async with storm_slots:
            await rejoin_now(client)

    async def rejoin_now(client: RClient) -> None:
        while True:
            try:
                await asyncio.wait_for(client.join(ports[1], 1), STORM_TIMEOUT_SECS)
                return
            except (OSError, asyncio.IncompleteReadError):
                # Refused or reset (backlog full, or closed before `synced`): retry once with the
                # spare ticket, as a browser would, after a short jittered pause.
                if client.marks.attempts >= 2:
                    raise
                await asyncio.sleep(0.05 + 0.1 * client.rng.random())

    storm = await asyncio.gather(*(rejoin(c) for c in clients), return_exceptions=True)
    failures: dict[str, int] = {}
    for r in storm:
        if isinstance(r, BaseException):
            key = f"{type(r).__name__}: {r}"[:80]
            failures[key] = failures.get(key, 0) + 1
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(("synced", {"failures": failures}))
    await _recv(conn)  # "stop"
    stop.set()
    await asyncio.gather(*drawers)
    await asyncio.sleep(R_DRAIN_SECS)
    out = {
        "clients": [
            {
                "cid": c.cid,
                "board": c.spec.board,
                "applied": c.applied,
                "acked": list(c.acked.items()),
                "unacked": len(c.unacked),
                "marks": [
                    c.marks.lost,
                    c.marks.start,
                    c.marks.opened,
                    c.marks.hello,
                    c.marks.synced,
                    c.marks.attempts,
                ],
            }
            for c in clients
        ],
        "counts": {
            "dups": counts.dups,
            "gaps": counts.gaps,
            "sent": counts.sent,
            "resent": counts.resent,
        },
        "errors": counts.errors,
        "closes": counts.closes,
        "samples": counts.samples,
        "cpu_secs": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime),
    }
    for c in clients + stay:
        if c.ws is not None:
            c.ws.close()
    conn.send(("result", out))


def _expect(pipe: Connection, kind: str, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a reconnect worker sent no {kind!r} within {timeout} s")
    got, payload = pipe.recv()
    if got != kind:
        raise RuntimeError(f"worker sent {got!r}, expected {kind!r}")
    return payload


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)


def _residents() -> list[RSpec]:
    """
    Idle sockets on pod 2 from the start, on a board of their own.
    """
    (board_id,) = setup.create_boards(1, "bench-r resident")
    tickets = setup.tickets(board_id, R_RESIDENTS)
    return [RSpec(-1 - k, -1, board_id, False, (t, t, t)) for k, t in enumerate(tickets)]


def _specs(bench: Bench) -> list[RSpec]:
    n = bench.n(R_SOCKETS)
    boards = max(1, math.ceil(n / R_PER_BOARD))
    board_ids = setup.create_boards(boards, "bench-r")
    specs: list[RSpec] = []
    for b, board_id in enumerate(board_ids):
        count = min(R_PER_BOARD, n - len(specs))
        # A ticket admits once: one for pod 1, one for the rejoin, one for a second try.
        tickets = setup.tickets(board_id, 3 * count)
        for k in range(count):
            specs.append(
                RSpec(
                    slot=len(specs),
                    board=b,
                    board_id=board_id,
                    draw=k % 2 == 0,
                    tickets=(tickets[3 * k], tickets[3 * k + 1], tickets[3 * k + 2]),
                )
            )
    return specs


def _verify(board_ids: list[str], clients: list[dict[str, Any]]) -> dict[str, Any]:
    """
    Every acknowledged op in the log at its acknowledged seq; every socket up to its board's head.
    """
    from board.models import Board, Op

    stored: dict[tuple[str, int], int] = {
        (c, i): s
        for c, i, s in Op.objects.filter(
            board_id__in=board_ids, client_id__startswith=CLIENT_PREFIX
        ).values_list("client_id", "client_op_id", "seq")
    }
    heads = dict(Board.objects.filter(id__in=board_ids).values_list("id", "head_seq"))
    acked = lost = moved = behind = 0
    for client in clients:
        for i, seq in client["acked"]:
            acked += 1
            got = stored.get((client["cid"], i))
            if got is None:
                lost += 1
            elif got != seq:
                moved += 1
        if client["applied"] != heads.get(board_ids[client["board"]]):
            behind += 1
    return {"acked": acked, "acked_lost": lost, "acked_other_seq": moved, "behind_head": behind,
            "ops_stored": len(stored)}  # fmt: skip


@dataclass(slots=True)
class Storm:
    """
    What the parent measured around the kill.
    """

    t_kill: int = 0
    t_all_synced: int = 0
    cpu_pod2: float = 0.0
    #: CPU seconds the whole box was busy over the storm (every process, all cores).
    box_cpu_s: float = 0.0
    cpu_pod1_warm_pct: float = 0.0
    cpu_pod2_after_pct: float = 0.0
    rss_pod2_mib: float = 0.0
    worker_reports: list[dict[str, Any]] = field(default_factory=list)


def _run(
    bench: Bench,
    specs: list[RSpec],
    residents: list[RSpec],
    procs: list[Server],
    profile_out: Any,
) -> Storm:
    ctx = mp.get_context("spawn")
    nworkers = max(1, min(bench.workers, len(specs)))
    pipes: list[Connection] = []
    workers = []
    ports = (procs[0].port, procs[1].port)
    storm = Storm()
    spy = None
    try:
        for w in range(nworkers):
            parent, child = ctx.Pipe()
            args = (child, specs[w::nworkers], residents[w::nworkers], ports)
            proc = ctx.Process(target=_worker, args=args, daemon=True)
            proc.start()
            pipes.append(parent)
            workers.append(proc)
        ready = [_expect(p, "ready", 300) for p in pipes]
        failed = sum(r["failed"] for r in ready)
        if failed:
            raise RuntimeError(f"{failed} sockets failed to join pod 1")
        for p in pipes:
            p.send(("draw", None))
        warm = min(bench.duration, R_WARM_SECS)
        cpu_a = procs[0].cpu_secs()
        time.sleep(warm)
        storm.cpu_pod1_warm_pct = round(100 * (procs[0].cpu_secs() - cpu_a) / warm, 1)
        if profile_out is not None:
            spy = profile.start(procs[1].pid(), STORM_TIMEOUT_SECS, profile_out)
            time.sleep(0.5)  # py-spy attaches
        cpu0 = procs[1].cpu_secs()
        box0 = _box_busy_secs()
        storm.t_kill = monotonic_ns()
        procs[0].proc.kill()  # type: ignore[union-attr]
        pending = set(range(len(pipes)))
        deadline = time.monotonic() + STORM_TIMEOUT_SECS + 30
        while pending and time.monotonic() < deadline:
            for k in list(pending):
                if pipes[k].poll(0.002):
                    kind, payload = pipes[k].recv()
                    assert kind == "synced", kind
                    storm.worker_reports.append(payload)
                    pending.discard(k)
        storm.t_all_synced = monotonic_ns()
        storm.cpu_pod2 = procs[1].cpu_secs() - cpu0
        storm.box_cpu_s = _box_busy_secs() - box0
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # the profile is of the storm only
            spy.wait(30)
            spy = None
        storm.rss_pod2_mib = round(procs[1].rss_bytes() / 2**20, 1)
        if pending:
            raise RuntimeError("reconnect workers did not report within the storm timeout")
        cpu_b = procs[1].cpu_secs()
        time.sleep(R_AFTER_SECS)
        storm.cpu_pod2_after_pct = round(100 * (procs[1].cpu_secs() - cpu_b) / R_AFTER_SECS, 1)
        for p in pipes:
            p.send(("stop", None))
        storm.worker_reports += [_expect(p, "result", R_DRAIN_SECS + 60) for p in pipes]
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            spy.wait(30)
        for proc in workers:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return storm


def _results(reports: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (r for r in reports if "clients" in r)


def scenario_r(bench: Bench) -> None:
    """Reconnect storm: N sockets of a SIGKILLed pod rejoin the survivor with `since`."""
    bench.inkroom_env(redis=True)
    specs = _specs(bench)
    residents = _residents()
    board_ids = list(dict.fromkeys(s.board_id for s in specs))
    n = len(specs)
    out = LOG_DIR / "profile-R-inkroom-base.txt"
    with started(bench, INKROOM, processes=2) as procs:
        storm = _run(bench, specs, residents, procs, out if bench.profile else None)
    clients = [c for r in _results(storm.worker_reports) for c in r["clients"]]
    counts: dict[str, int] = {}
    errors: dict[str, int] = {}
    closes: dict[str, int] = {}
    failures: dict[str, int] = {}
    loadgen_cpu = 0.0
    for r in storm.worker_reports:
        pairs = (("counts", counts), ("errors", errors), ("closes", closes), ("failures", failures))
        for key, dst in pairs:
            src = r.get(key, {})
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
        loadgen_cpu += r.get("cpu_secs", 0.0)
    marks = [c["marks"] for c in clients]
    synced = [m for m in marks if m[4]]
    first_start = min((m[1] for m in synced), default=storm.t_kill)
    last_synced = max((m[4] for m in synced), default=storm.t_all_synced)
    storm_secs = (last_synced - storm.t_kill) / 1e9
    window = max(1e-3, (storm.t_all_synced - storm.t_kill) / 1e9)  # what the CPU was read over
    joins = len(synced)
    verify = _verify(board_ids, clients)
    cpu_per_join_ms = 1e3 * storm.cpu_pod2 / joins if joins else None
    # Drawing goes on during the storm: with k of the N sockets back, a board's ops and their
    # receivers are both ~k/N of what they are after it, so its cost is ~(k/N)^2 of the rate
    # measured once all are back. Subtracting that estimate gives the joins' own share.
    drawing_s = 0.0
    ordered = sorted(m[4] for m in synced)
    for k, t in enumerate(ordered, 1):
        t_next = ordered[k] if k < len(ordered) else last_synced
        drawing_s += storm.cpu_pod2_after_pct / 100 * (k / n) ** 2 * (t_next - t) / 1e9
    net_ms = 1e3 * max(0.0, storm.cpu_pod2 - drawing_s) / joins if joins else None
    row: dict[str, Any] = {
        "scenario": "R",
        "target": INKROOM,
        "variant": f"{n} sockets, {len(board_ids)} boards",
        "protocol": 1,
        "layer": "redis",
        "clients": n,
        "boards": len(board_ids),
        "drawers": sum(1 for s in specs if s.draw),
        "joins": joins,
        "join_failures": failures,
        "kill_to_all_synced_s": round(storm_secs, 3),
        "joins_per_s": round(joins / ((last_synced - first_start) / 1e9)) if joins else 0,
        "pod2_cpu_s": round(storm.cpu_pod2, 3),
        "pod2_cpu_ms_per_join": round(cpu_per_join_ms, 3) if cpu_per_join_ms else None,
        "pod2_cpu_ms_per_join_net": round(net_ms, 3) if net_ms is not None else None,
        "pod2_cpu_pct_during_storm": round(100 * storm.cpu_pod2 / window, 1),
        # Everything else on the box over the storm (PostgreSQL, Redis, the generator, other
        # people's work), in % of one core: when the box is full, joins/s measures the box.
        "other_cpu_pct_during_storm": round(100 * (storm.box_cpu_s - storm.cpu_pod2) / window, 1),
        "pod1_cpu_pct_drawing": storm.cpu_pod1_warm_pct,
        "pod2_cpu_pct_after": storm.cpu_pod2_after_pct,
        "server_rss_mib": storm.rss_pod2_mib,
        "loadgen_cpu_s": round(loadgen_cpu, 2),
        "kill_to_lost_ms": _ms_pcts([m[0] - storm.t_kill for m in synced if m[0]]),
        "start_to_hello_ms": _ms_pcts([m[3] - m[1] for m in synced if m[3]]),
        "start_to_synced_ms": _ms_pcts([m[4] - m[1] for m in synced]),
        "kill_to_synced_ms": _ms_pcts([m[4] - storm.t_kill for m in synced]),
        "attempts_max": max((m[5] for m in marks), default=0),
        **counts,
        "errors": errors,
        "closes": closes,
        "samples": [x for r in storm.worker_reports for x in r.get("samples", [])][:20],
        **verify,
    }
    ok = (
        joins == n
        and verify["acked_lost"] == 0
        and verify["acked_other_seq"] == 0
        and verify["behind_head"] == 0
        and counts.get("dups", 0) == 0
        and counts.get("gaps", 0) == 0
    )
    row["goal"] = (
        "<= 1 ms CPU per join (net of drawing), >= 2,000 joins/s, all synced <= 10 s; "
        "no acked op lost, no duplicate or gap"
    )
    row["goal_met"] = bool(
        ok
        and net_ms is not None
        and net_ms <= 1.0
        and row["joins_per_s"] >= 2000
        and storm_secs <= 10
    )
    row["correct"] = ok
    if bench.profile and out.exists():
        row["profile"] = {"file": str(out), **profile.summarize(out, top=25)}
    row["note"] = (
        f"{joins}/{n} rejoined; {row['joins_per_s']} joins/s; pod 2 "
        f"{row['pod2_cpu_ms_per_join']} ms CPU/join "
        f"({row['pod2_cpu_ms_per_join_net']} net of drawing);"
        f" all synced {storm_secs:.2f} s after the kill;"
        f" acked {verify['acked']}, lost {verify['acked_lost']}, behind {verify['behind_head']},"
        f" dups {counts.get('dups', 0)}, gaps {counts.get('gaps', 0)}"
    )
    record(bench, row)


def _ms_pcts(values_ns: list[int]) -> dict[str, float | None]:
    ms = [v / 1e6 for v in values_ns]
    return {
        "p50": _pct(ms, 0.5),
        "p99": _pct(ms, 0.99),
        "max": round(max(ms), 1) if ms else None,
        "mean": round(statistics.fmean(ms), 1) if ms else None,
    }
