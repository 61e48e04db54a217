"""
The hopping workload of issue 14: clients that draw their own strokes and move to another process
every few seconds, and the check that no valid op was refused, lost or stored twice.

Each `Hopper` connects straight to a pod's port (not through nginx, so the workload decides where
it lands) and draws about OPS_PER_SEC ops/s whether or not it is connected: `add` of a new stroke,
`app` on its stroke in progress, `upd` of one of its own earlier elements. Every HOP_SECS (with
jitter) it reconnects to another live pod with `since` = its applied seq and resends its unacked
outbox in `i` order; a socket the server closes (SIGKILL, drain) moves it at once. Right after
each move it touches what it drew on the pod it left (the stroke in progress, the elements added
in the last TOUCH_SECS): the ops the issue saw refused.

Every op a hopper sends is valid against the log when sequenced: it only names elements it
added itself, never deletes, and an `add` always precedes the ops naming it on the connection
that carries them (the outbox resend is in `i` order and no new op goes out before it, after a
move and after an `unavailable` answer alike). So any `invalid_op` is the server validating
against a state that is behind the log.

Choices (op mix, hop times, targets) come from one seed, printed with every report; timing is
the machine's, so a replay repeats the workload, not the exact interleaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from board.document import BoardState, replay
from tests.cluster.drawing import CONNECT_ERRORS
from tests.cluster.localcluster import LocalCluster
from tests.support.wsclient import RETRY_SECS, BoardClient, converge

#: Ops per second per client (the issue's workload: ~30).
OPS_PER_SEC = 30.0
#: Seconds on one pod before moving to another: uniform in this range (the issue: ~3 s; a
#: little more often here, as each move is a chance to meet a pod whose state lags).
HOP_SECS = (1.5, 3.0)
#: After a move, `upd` every own element added within this many seconds (mostly on the pod just
#: left): the issue's refused ops named elements added 2-3 s earlier.
TOUCH_SECS = 5.0
#: At most this many such `upd`s per move (they go out at OPS_PER_SEC like any op).
TOUCH_MAX = 10
#: Share of `upd` among the ops that neither start nor continue a stroke by force, and how far
#: back its element is chosen (seconds): recent elements, the ones a lagging pod lacks.
UPD_SHARE = 0.3
UPD_RECENT_SECS = 5.0
#: A stroke gets this many `app` ops (uniform) before the next `add`: short strokes, so many
#: elements are added on one pod and touched on the other.
APPS_PER_STROKE = (2, 8)
#: How long a hopper keeps trying to reach some live pod before it gives up (seconds).
MOVE_WITHIN_SECS = 20.0
#: Polling step of the roaming loop (seconds): bounds how late a closed socket is noticed.
ROAM_POLL_SECS = 0.01
#: Environment variable that fixes the seed (replays a failing run's workload).
SEED_ENV = "INKROOM_HOP_SEED"
#: Environment a replay needs to hit the same private cluster settings.
REPLAY_ENV = (
    "DATABASE_URL",
    "INKROOM_CLUSTER_PORT_BASE",
    "INKROOM_CLUSTER_SERVICE_PORT_BASE",
    "INKROOM_CLUSTER_DATABASE",
)


def hop_seed() -> int:
    """
    The run's seed: INKROOM_HOP_SEED when set (a replay), else a fresh one.
    """
    fixed = os.environ.get(SEED_ENV)
    return int(fixed) if fixed else random.SystemRandom().randrange(2**31)


def replay_command(seed: int, nodeid: str) -> str:
    """
    The one line that reruns test `nodeid` with the same workload and the same cluster settings.
    """
    env = [f"{key}={os.environ[key]}" for key in REPLAY_ENV if key in os.environ]
    return " ".join([f"{SEED_ENV}={seed}", *env, ".venv/bin/python -m pytest", nodeid])


@dataclass(frozen=True)
class Refusal:
    """
    One op refused with `invalid_op`, and when and where, relative to the hop before it.
    """

    client: str
    op_id: int
    kind: str
    element: str
    message: str
    #: The pod the client was connected to when the error frame came.
    port: int | None
    #: From the client's last `synced` (the move to `port`) to the error frame.
    after_connect_ms: float
    #: From the creation of the element's `add` to the error frame.
    element_age_ms: float | None
    #: The pod the client was on when it created that `add` (None: while moving).
    element_port: int | None
    #: Whether that `add` was already acked (so in the log) when the refused op was created.
    add_acked_first: bool
    #: Whether the connection was the server's doing (the previous pod was killed or drained).
    after_forced_move: bool

    def line(self) -> str:
        age = "?" if self.element_age_ms is None else f"{self.element_age_ms:.0f}"
        return (
            f"{self.client} op {self.op_id} {self.kind} {self.element!r} on :{self.port} "
            f"{self.after_connect_ms:.0f} ms after {'a forced' if self.after_forced_move else 'a'} "
            f"move (added {age} ms before, on "
            f":{self.element_port}, {'acked' if self.add_acked_first else 'unacked'} when the "
            f"op was made): {self.message}"
        )


class Hopper(BoardClient):
    """
    A BoardClient that moves between pods and draws only its own, always valid, ops.
    """

    def __init__(self, board_id: str, number: int, seed: int, headers: dict[str, str]) -> None:
        super().__init__("", headers=headers, client_id=f"hopper-{number}-{seed}"[:64])
        self.name = f"hopper{number}"
        self.board_id = board_id
        self.number = number
        self.rng = random.Random(f"{seed}-{number}")
        #: The pod this client is (or was last) connected to, and its connections in order.
        self.port: int | None = None
        self.connected_at = time.monotonic()
        self.moves: list[tuple[float, int]] = []
        #: Moves the server forced (its socket closed under it), and how long each took.
        self.forced_secs: list[float] = []
        #: Whether the move under way (and then the current connection) was forced.
        self.forced = False
        #: Ops only go out once a new connection's outbox resend is done (see hop()), and not
        #: while ops answered `unavailable` wait for their resend (see _on_error()).
        self.live = False
        self._sent_upto = 0
        self._redo_from: int | None = None
        self._redo: asyncio.Task[None] | None = None
        #: Every op created: (op, monotonic time, port then) for the refusal analysis.
        self.made: dict[int, tuple[dict[str, Any], float, int | None]] = {}
        #: Ops created after the `add` of the element they name was acked.
        self.after_ack: set[int] = set()
        #: element id -> id of its `add`; elements in creation order.
        self.adds: dict[str, int] = {}
        self.stroke: str | None = None
        self.stroke_left = 0
        self.touch: deque[dict[str, Any]] = deque()
        #: The pod a connection is being opened to; it becomes `port` at that socket's `synced`.
        self._target: int | None = None
        #: Every error frame: (time, port, that connection's `synced` time, forced, frame).
        self.error_log: list[tuple[float, int | None, float, bool, dict[str, Any]]] = []

    def url_for(self, port: int) -> str:
        return f"ws://127.0.0.1:{port}/ws/boards/{self.board_id}/"

    # --- sending: ops go out only on a connection whose outbox resend is done ------------------

    async def send_ops(self, ops: list[dict[str, Any]]) -> list[int]:
        ids = []
        now = time.monotonic()
        for op in ops:
            op = {"i": self._next_op_id, **op}
            self._next_op_id += 1
            self.outbox[op["i"]] = op
            self.made[op["i"]] = (op, now, self.port if self.live else None)
            if op["k"] == "add":
                self.adds[op["el"]["id"]] = op["i"]
            elif self.adds.get(op["id"]) in self.acked:
                self.after_ack.add(op["i"])
            ids.append(op["i"])
        if self.live and self.connected:
            with contextlib.suppress(ConnectionClosed, ConnectionError):
                await self._send_ops([self.outbox[i] for i in ids if i in self.outbox])
        return ids

    async def _send_ops(self, ops: list[dict[str, Any]]) -> None:
        await super()._send_ops(ops)
        if ops:
            self._sent_upto = max(self._sent_upto, max(int(op["i"]) for op in ops))

    async def _on_text(self, message: dict[str, Any]) -> None:
        if message.get("type") == "synced" and not self._synced.is_set():
            # The connection's first `synced` (later ones answer a resync): from here on its
            # error frames are measured from this instant, the end of the move.
            self.port, self.connected_at = self._target, time.monotonic()
            self.moves.append((self.connected_at, self._target or 0))
        await super()._on_text(message)

    async def _on_error(self, message: dict[str, Any]) -> None:
        entry = (time.monotonic(), self.port, self.connected_at, self.forced, message)
        self.error_log.append(entry)
        ids = [i for i in message.get("ids") or [] if i in self.outbox]
        if message.get("code") not in ("unavailable", "rate_limited") or not ids:
            await super()._on_error(message)  # final: invalid_op and the like are recorded
            return
        # Protocol §6: resend from the first op answered `unavailable`, in `i` order with the
        # rest of the outbox. BoardClient resends only the ids of each error frame while new
        # ops keep going out, so a new `upd` could overtake the resend of its element's `add`
        # and be refused for the client's own fault. Hold new ops back until the resend.
        self.live = False
        self._redo_from = min(ids) if self._redo_from is None else min(self._redo_from, *ids)
        if self._redo is None or self._redo.done():
            self._redo = asyncio.create_task(self._resend_later(), name=f"{self.name}-redo")

    async def _resend_later(self) -> None:
        # Error frames for the ops sent before the first one was answered arrive within a tick
        # or two: one resend after RETRY_SECS covers them all.
        await asyncio.sleep(RETRY_SECS)
        start, self._redo_from = self._redo_from, None
        if start is None or not self.connected:
            return  # the next move resends the whole outbox and goes live
        with contextlib.suppress(ConnectionClosed, ConnectionError):
            await self._resend_from(start)

    async def _resend_from(self, start: int) -> None:
        """
        Send the outbox from op `start` in `i` order, then what was drawn meanwhile; go live.
        """
        self._sent_upto = start - 1
        while extra := [op for i, op in sorted(self.outbox.items()) if i > self._sent_upto]:
            await self._send_ops(extra)
        self.live = True

    async def hop(self, port: int) -> None:
        """
        Move to pod `port`: since = applied, resend the outbox in `i` order, then go live.
        """
        self.live = False
        if self._redo is not None:  # the move resends the whole outbox anyway
            self._redo.cancel()
            self._redo_from = None
        self._sent_upto = 0
        self._target = port
        await self.connect(self.url_for(port), timeout=5)
        # connect() resent the outbox as it was at `synced`; ops drawn while that resend was in
        # flight were not in it. They go now, before any new op: the server must see this
        # connection's ops in `i` order or an `app` could overtake its stroke's `add`.
        await self._resend_from(self._sent_upto + 1)
        self._touch_recent()

    # --- drawing ---------------------------------------------------------------------------------

    def _touch_recent(self) -> None:
        """
        Queue what the issue saw refused after a move: an `app` on the stroke in progress and
        an `upd` of each element added in the last TOUCH_SECS (before the move, elsewhere).
        """
        self.touch.clear()
        if self.stroke is not None:
            self.touch.append(self._app())
        for el_id in self._recent(TOUCH_SECS)[-TOUCH_MAX:]:
            self.touch.append(self._upd(el_id))

    def _recent(self, secs: float) -> list[str]:
        """
        Own elements added within the last `secs` seconds, oldest first.
        """
        now = time.monotonic()
        return [e for e, i in self.adds.items() if now - self.made[i][1] <= secs]

    def _app(self) -> dict[str, Any]:
        assert self.stroke is not None
        n = self.rng.randint(1, 3)
        return {"k": "app", "id": self.stroke, "p": [self.rng.randint(-3, 3), 2] * n}

    def _upd(self, el_id: str) -> dict[str, Any]:
        if self.rng.random() < 0.5:
            change: dict[str, Any] = {"x": self.rng.randrange(2000), "y": self.rng.randrange(1500)}
        else:
            change = {"style": {"color": f"#{self.rng.randrange(0x1000000):06x}"}}
        return {"k": "upd", "id": el_id, "set": change}

    def _add(self) -> dict[str, Any]:
        el_id = f"h{self.number}e{len(self.adds) + 1}"
        self.stroke, self.stroke_left = el_id, self.rng.randint(*APPS_PER_STROKE)
        style = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
        x, y = self.rng.randrange(2000), self.rng.randrange(1500)
        el = {"id": el_id, "type": "stroke", "x": x, "y": y, "style": style, "p": [0, 0]}
        return {"k": "add", "el": el}

    def next_op(self) -> dict[str, Any]:
        if self.touch:
            return self.touch.popleft()
        if self.stroke is None or self.stroke_left <= 0:
            return self._add()
        if self.rng.random() < UPD_SHARE:
            # An own element: its `add` precedes this op in `i` order, so it is in the log
            # (acked) or goes out before it on the same connection.
            return self._upd(self.rng.choice(self._recent(UPD_RECENT_SECS) or list(self.adds)))
        self.stroke_left -= 1
        return self._app()

    async def draw(self, stop: asyncio.Event) -> None:
        """
        One op every 1/OPS_PER_SEC s, connected or not (offline ops wait in the outbox).
        """
        while not stop.is_set():
            await self.send_ops([self.next_op()])
            await asyncio.sleep(1 / OPS_PER_SEC)

    # --- moving ----------------------------------------------------------------------------------

    async def move(self, ports: Callable[[], list[int]]) -> None:
        """
        Connect to another live pod (the same one only if it is the last), retrying while pods
        die or drain, for at most MOVE_WITHIN_SECS.
        """
        deadline = time.monotonic() + MOVE_WITHIN_SECS
        first, attempt = self.rng.randrange(1000), 0
        while True:
            live = ports()
            others = [p for p in live if p != self.port]
            candidates = others or live
            try:
                if not candidates:
                    raise ConnectionError("no live pod")
                await self.hop(candidates[(first + attempt) % len(candidates)])
                return
            except CONNECT_ERRORS:
                if time.monotonic() > deadline:
                    raise
            attempt += 1
            await asyncio.sleep(0.05 * (1 + self.rng.random()))

    async def roam(self, stop: asyncio.Event, ports: Callable[[], list[int]]) -> None:
        """
        Move every HOP_SECS (jittered), and at once when the server closes the socket.
        """
        while not stop.is_set():
            hop_at = time.monotonic() + self.rng.uniform(*HOP_SECS)
            while not stop.is_set() and self.connected and time.monotonic() < hop_at:
                await asyncio.sleep(ROAM_POLL_SECS)
            if stop.is_set():
                return
            closed_at = None if self.connected else time.monotonic()
            self.forced = closed_at is not None
            await self.move(ports)
            if closed_at is not None:
                self.forced_secs.append(time.monotonic() - closed_at)


@dataclass
class HopReport:
    """
    The figures of one hopping run, and everything it found wrong.
    """

    fault: str
    seed: int
    clients: int
    ops_in_log: int = 0
    moves: int = 0
    forced: list[float] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    close_codes: Counter[int] = field(default_factory=Counter)
    lost: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        kinds = Counter(r.kind for r in self.refusals)
        acked_first = sum(r.add_acked_first for r in self.refusals)
        forced_first = sum(r.after_forced_move for r in self.refusals)
        after = sorted(r.after_connect_ms for r in self.refusals)
        spread = f" {after[0]:.0f}-{after[-1]:.0f} ms after a move" if after else ""
        forced = sorted(self.forced)
        moved = (
            f"median {statistics.median(forced) * 1000:.0f} ms, max {forced[-1] * 1000:.0f} ms"
            if forced
            else "none"
        )
        return (
            f"[cluster hop] {self.fault}: seed={self.seed} clients={self.clients} "
            f"ops_in_log={self.ops_in_log} moves={self.moves} forced={len(forced)} ({moved}) "
            f"refused={len(self.refusals)} {dict(kinds)}{spread} "
            f"(after a forced move {forced_first}, add acked before {acked_first}) "
            f"lost={self.lost} "
            f"duplicates={self.duplicates} errors={dict(self.errors)} "
            f"closes={dict(self.close_codes)}"
        )


def _refusals(client: Hopper) -> list[Refusal]:
    out = []
    for at, port, synced_at, forced, frame in client.error_log:
        if frame.get("code") != "invalid_op":
            continue
        for op_id in frame.get("ids") or []:
            made = client.made.get(op_id)
            op = made[0] if made else {}
            element = str(op.get("id") or op.get("el", {}).get("id") or "")
            add = client.made.get(client.adds.get(element, -1))
            out.append(
                Refusal(
                    client=client.name,
                    op_id=op_id,
                    kind=str(op.get("k")),
                    element=element,
                    message=str(frame.get("message")),
                    port=port,
                    after_connect_ms=(at - synced_at) * 1000,
                    element_age_ms=None if add is None else (at - add[1]) * 1000,
                    element_port=None if add is None else add[2],
                    add_acked_first=op_id in client.after_ack,
                    after_forced_move=forced,
                )
            )
    return out


async def settle(clients: list[Hopper], ports: Callable[[], list[int]]) -> None:
    """
    After drawing stopped: every client connected and live, and its outbox empty.
    """
    for client in clients:
        if not (client.connected and client.live):
            await client.move(ports)
    for client in clients:
        await client.wait_acked(timeout=20)


async def check(
    cluster: LocalCluster, board_id: str, clients: list[Hopper], report: HopReport
) -> HopReport:
    """
    Hold every client against the durable log; fill `report` (problems listed, not raised).
    """
    rows = cluster.log(board_id)
    report.ops_in_log = len(rows)
    report.moves = sum(len(c.moves) for c in clients)
    report.forced = [s for c in clients for s in c.forced_secs]
    report.errors = Counter(str(f.get("code")) for c in clients for *_, f in c.error_log)
    report.close_codes = Counter(int(code or 0) for c in clients for code in c.close_codes)
    problems = report.problems
    seqs = [row.seq for row in rows]
    if seqs != list(range(1, len(rows) + 1)):
        problems.append("the log's seqs are not 1..n without gaps")
    keys = Counter((row.client_id, row.client_op_id) for row in rows)
    report.duplicates = sum(n - 1 for n in keys.values() if n > 1)
    if report.duplicates:
        problems.append(f"{report.duplicates} ops stored more than once")
    stored = {(row.client_id, row.client_op_id): row.seq for row in rows}
    for client in clients:
        report.refusals.extend(_refusals(client))
        mine = {i for c, i in stored if c == client.client_id}
        refused = set(client.rejected)
        lost = set(client.made) - mine - refused
        wrong = [i for i, s in client.acked.items() if stored.get((client.client_id, i)) != s]
        report.lost += len(lost | set(wrong))
        if lost:
            problems.append(f"{client.name}: ops neither stored nor refused: {sorted(lost)[:10]}")
        if wrong:
            problems.append(f"{client.name}: acked ops not in the log at their seq: {wrong[:10]}")
        if client.outbox:
            problems.append(f"{client.name}: unacked ops left: {sorted(client.outbox)[:10]}")
        if mine - set(client.made):
            unknown = sorted(mine - set(client.made))
            problems.append(f"{client.name}: stored ops it never made: {unknown[:10]}")
    if report.refusals:
        problems.insert(
            0,
            f"{len(report.refusals)} valid ops refused with invalid_op, e.g.\n  "
            + "\n  ".join(r.line() for r in report.refusals[:5]),
        )
    try:
        await converge(list(clients), len(rows), timeout=20)
    except AssertionError as error:
        problems.append(str(error))
        return report
    expected = replay(BoardState(), [row.entry for row in rows])
    for client in clients:
        if client.state.elements != expected.elements:
            problems.append(f"{client.name}'s board differs from the log's reduction")
        elif list(client.state.elements) != list(expected.elements):
            problems.append(f"{client.name}'s z-order differs from the log's")
    return report
