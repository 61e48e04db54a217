"""
A simulated client: draws its own strokes, keeps an outbox until acked, applies the log in seq
order, detects gaps, reconnects (to any process) with `since`, and records everything the
checker needs. It follows docs/protocol.md and nothing else of the server: v1 frames, and on a
v2 connection the compact frames the server sends down (§2.5), with `tentative=2` DOWN_TENT and
DOWN_PROMOTE (§2.6), decoded by the reference client (tests/support/refclient.RefSession). It
always sends v1 frames up, which v2 accepts.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from board.document import BoardState, apply_in_place
from realtime.wire.compact import DOWN_PROMOTE, CompactError
from realtime.wire.tentative import Tentative
from tests.sim.network import Connection
from tests.support.refclient import DOWN_FRAMES, RefSession

GAP_WAIT_SECS = 0.5
#: Ops per frame when resending the outbox.
RESEND_FRAME_OPS = 64

#: Close codes after which a client must not come back (protocol §7).
FINAL_CLOSES = {1000, 4000, 4001, 4003, 4004}


@dataclass
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class ClientLog:
    acked: dict[int, int] = field(default_factory=dict)
    refused: list[tuple[str, list[int], str]] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pongs: int = 0
    #: Entries received as a DOWN_PROMOTE of the last DOWN_TENT (protocol §2.6).
    promoted: int = 0
    duplicates: int = 0


class SimClient:
    def __init__(
        self,
        name: str,
        board_id: str,
        user_id: int,
        role: str,
        rng: random.Random,
        connect: Callable[[SimClient], None],
        *,
        hostile: bool = False,
        version: int = 1,
        tentative: int = 0,
    ) -> None:
        self.name = self.client_id = name
        self.board_id, self.user_id, self.role = board_id, user_id, role
        self.rng = rng
        self.hostile = hostile
        self.version = version
        #: Opened with `tentative=1` or `2` (protocol §2.6): keeps others' ops before their
        #: commit.
        self.tentative = tentative
        self.tentatives: dict[tuple[str, int], dict[str, Any]] = {}
        #: The v2 state of the current connection (handles, continuations, the batch).
        self.session = RefSession()
        self._connect = connect
        self.log = ClientLog()
        self.violations: list[Violation] = []
        # What survives a page refresh (localStorage): the outbox and the op counter.
        self.outbox: dict[int, dict[str, Any]] = {}
        self.next_i = 1
        self.created: dict[int, dict[str, Any]] = {}
        # The replica (memory: lost on reload).
        self.replica = BoardState()
        self.applied = 0
        self.buffered: dict[int, dict[str, Any]] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        self.conn: Connection | None = None
        #: After `hello` (and the outbox's resend) on the current connection: new ops go out at
        #: once. Before it they only join the outbox, so the resend keeps them in `i` order.
        self.greeted = False
        self.synced = False
        self.stopped = False
        self.reconnect_timer: asyncio.TimerHandle | None = None
        self.resend_timer: asyncio.TimerHandle | None = None
        # The drawing model: the client's own elements as its own ops left them.
        self.alive: list[str] = []
        self.stroke: str | None = None
        self.stroke_points = 0
        self.n_elements = 0

    # --- connection ------------------------------------------------------------------------

    @property
    def since(self) -> int:
        return self.applied

    def connected(self, conn: Connection) -> None:
        self.conn, self.synced, self.greeted = conn, False, False
        self.session = RefSession()

    def on_frame(self, conn: Connection, frame: bytes | str) -> None:
        if conn is not self.conn:
            return
        if isinstance(frame, str):
            self._on_text(json.loads(frame))
        elif self.version >= 2 and frame[:1] and frame[0] in DOWN_FRAMES:
            self._on_compact(frame)
        else:
            msg = msgpack.unpackb(frame)
            if msg.get("t") in ("ops", "snap"):
                self.session.entries_came()
            self._on_binary(msg)

    def _on_compact(self, frame: bytes) -> None:
        try:
            got = self.session.decode(frame)
        except CompactError as exc:
            # A real client reconnects; here it can only be the server's mistake.
            self.violations.append(Violation("protocol", f"{self.name}: {exc}"))
            return
        if isinstance(got, Tentative):
            self._on_binary({"t": "tent", "ops": got.ops})
        elif got is not None:
            if frame[0] == DOWN_PROMOTE:
                self.log.promoted += len(got)
            ops = [e if isinstance(e, dict) else msgpack.unpackb(e) for e in got]
            self._on_binary({"t": "ops", "ops": ops})

    def on_close(self, conn: Connection, code: int | None) -> None:
        if conn is not self.conn:
            return
        self.log.closes.append(code)
        self.conn, self.synced, self.greeted = None, False, False
        self.tentatives.clear()
        if code in FINAL_CLOSES:
            self.violations.append(Violation("closed", f"{self.name} closed with {code}"))
            self.stopped = True
            return
        self.schedule_reconnect(0.05 if code == 1012 else self.rng.uniform(0.05, 0.4))

    def schedule_reconnect(self, delay: float) -> None:
        if self.stopped or self.reconnect_timer is not None:
            return
        loop = asyncio.get_running_loop()
        self.reconnect_timer = loop.call_later(delay, self._reconnect_now)

    def _reconnect_now(self) -> None:
        self.reconnect_timer = None
        if self.conn is None and not self.stopped:
            self._connect(self)

    def disconnect(self) -> None:
        conn, self.conn, self.synced, self.greeted = self.conn, None, False, False
        self.tentatives.clear()
        if conn is not None:
            conn.client_disconnect()

    def reload(self) -> None:
        """
        A page refresh: memory is gone, the outbox and the op counter are kept.
        """
        self.disconnect()
        self.replica, self.applied, self.buffered = BoardState(), 0, {}
        self._cancel_gap()

    # --- receiving ---------------------------------------------------------------------------

    def _on_text(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "hello":
            if msg.get("client_id") != self.client_id:
                self.violations.append(Violation("protocol", f"hello gave {msg['client_id']}"))
            self.greeted = True
            self.resend()
        elif kind == "synced":
            self.synced = True
        elif kind == "error":
            self._on_error(msg)
        elif kind == "pong":
            self.log.pongs += 1

    def _on_error(self, msg: dict[str, Any]) -> None:
        code, ids = msg.get("code", ""), [int(i) for i in msg.get("ids") or []]
        self.log.errors.append(code)
        if code in ("unavailable", "rate_limited"):
            self._schedule_resend()
            return
        if code in ("invalid_op", "board_full"):  # final: the client drops the op
            for i in ids:
                self.outbox.pop(i, None)
            valid = [i for i in ids if self.created.get(i, {}).get("valid", False)]
            self.log.refused.append((code, ids, str(msg.get("message"))))
            if valid:
                detail = f"{self.name} ops {valid}: {msg.get('message')}"
                self.violations.append(Violation("valid op refused", detail))
            return
        if not self.hostile:
            self.violations.append(Violation("unexpected error", f"{self.name}: {msg}"))

    def _on_binary(self, msg: dict[str, Any]) -> None:
        kind = msg.get("t")
        if kind == "ops":
            self._on_entries(msg["ops"])
        elif kind == "ack":
            for i, s in msg["a"]:
                self._acked(int(i), int(s))
        elif kind == "tent":
            for op in msg["ops"]:
                key = (str(op["c"]), int(op["i"]))
                if key[0] != self.client_id:
                    self.tentatives.pop(key, None)
                    self.tentatives[key] = op
        elif kind == "tdrop":
            for c, i in msg["ops"]:
                self.tentatives.pop((str(c), int(i)), None)
        elif kind == "snap":
            self.tentatives.clear()
            self.replica = BoardState({el["id"]: el for el in msg["els"]}, seq=int(msg["s"]))
            self.applied = int(msg["s"])
            self.buffered = {s: e for s, e in self.buffered.items() if s > self.applied}
            self._drain()

    def _acked(self, i: int, seq: int) -> None:
        previous = self.log.acked.get(i)
        if previous is not None and previous != seq:
            detail = f"{self.name} op {i} acked at {previous} and at {seq}"
            self.violations.append(Violation("ack changed", detail))
        self.log.acked[i] = seq
        self.outbox.pop(i, None)

    def _on_entries(self, entries: list[dict[str, Any]]) -> None:
        if self.synced and entries and int(entries[0]["s"]) <= self.applied:
            # Live after `synced`: the switch from catch-up to live has no duplicate (§4).
            self.log.duplicates += 1
        for entry in entries:
            seq = int(entry["s"])
            if entry.get("c") == self.client_id:
                self._acked(int(entry["i"]), seq)
            if seq > self.applied:
                self.buffered.setdefault(seq, entry)
        self._drain()

    def _drain(self) -> None:
        while self.applied + 1 in self.buffered:
            entry = self.buffered.pop(self.applied + 1)
            apply_in_place(self.replica, entry)
            if self.tentatives:
                self.tentatives.pop((str(entry["c"]), int(entry["i"])), None)
            self.applied += 1
        if self.buffered and self.gap_timer is None:
            loop = asyncio.get_running_loop()
            self.gap_timer = loop.call_later(GAP_WAIT_SECS, self._gap_waited)
        elif not self.buffered:
            self._cancel_gap()

    def _cancel_gap(self) -> None:
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None

    def _gap_waited(self) -> None:
        self.gap_timer = None
        if self.buffered and self.conn is not None:
            self.tentatives.clear()
            self.session.entries_came()
            self.send_text({"type": "resync", "from": self.applied})

    # --- sending -----------------------------------------------------------------------------

    def send_text(self, msg: dict[str, Any] | str) -> None:
        if self.conn is not None:
            self.conn.client_send(msg if isinstance(msg, str) else json.dumps(msg))

    def send_binary(self, frame: bytes) -> None:
        if self.conn is not None:
            self.conn.client_send(frame)

    def resend(self) -> None:
        ops = [self.outbox[i] for i in sorted(self.outbox)]
        for k in range(0, len(ops), RESEND_FRAME_OPS):
            self.send_binary(msgpack.packb({"t": "ops", "ops": ops[k : k + RESEND_FRAME_OPS]}))

    def _schedule_resend(self) -> None:
        if self.resend_timer is None:
            loop = asyncio.get_running_loop()
            self.resend_timer = loop.call_later(self.rng.uniform(0.1, 0.3), self._resend_now)

    def _resend_now(self) -> None:
        self.resend_timer = None
        self.resend()

    def submit(self, op: dict[str, Any], *, valid: bool = True) -> None:
        op = {"i": self.next_i, **op}
        self.next_i += 1
        self.created[op["i"]] = {"valid": valid}
        if valid:
            self.outbox[op["i"]] = op
        if self.greeted:
            self.send_binary(msgpack.packb({"t": "ops", "ops": [op]}))

    # --- drawing -----------------------------------------------------------------------------

    def draw(self) -> None:
        """
        One op on the client's own elements, valid whatever the others do.
        """
        rng = self.rng
        roll = rng.random()
        if self.stroke is not None and roll < 0.6 and self.stroke_points < 200:
            p = [rng.randint(-20, 20) for _ in range(2 * rng.randint(1, 4))]
            self.stroke_points += len(p) // 2
            self.submit({"k": "app", "id": self.stroke, "p": p})
        elif roll < 0.8 or not self.alive:
            self.n_elements += 1
            el_id = f"{self.name}-{self.n_elements}"
            el = {
                "id": el_id,
                "type": "stroke",
                "x": rng.randint(-500, 500),
                "y": rng.randint(-500, 500),
                "style": {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None},
                "p": [0, 0, rng.randint(-5, 5), rng.randint(-5, 5)],
            }
            self.alive.append(el_id)
            self.stroke, self.stroke_points = el_id, 2
            self.submit({"k": "add", "el": el})
        elif roll < 0.9:
            target = rng.choice(self.alive)
            self.submit({"k": "upd", "id": target, "set": {"style": {"width": rng.randint(1, 9)}}})
        elif roll < 0.95:
            target = rng.choice(self.alive)
            self.submit({"k": "mov", "ids": [target], "dx": rng.randint(-9, 9), "dy": 3})
        else:
            target = rng.choice(self.alive)
            self.alive.remove(target)
            if target == self.stroke:
                self.stroke = None
            self.submit({"k": "del", "ids": [target]})

    def hostile_frame(self) -> None:
        """
        Something a careless or malicious client sends; it must be answered, never crash.
        """
        rng = self.rng
        choice = rng.randrange(8)
        if choice == 0:
            self.send_text('{"type":"presence","name":"\\ud800","color":"#000000"}')
        elif choice == 1:
            self.send_text('{"type":"ping","t":"\\udfff"}')
        elif choice == 2:
            self.send_binary(b"\xc1" + bytes(rng.randrange(256) for _ in range(8)))
        elif choice == 3:
            self.send_binary(msgpack.packb({"t": "nope"}))
        elif choice == 4:
            self.send_text(json.dumps({"type": "presence", "name": "x" * 100, "color": "red"}))
        elif choice == 5:
            self.submit({"k": "app", "id": "no-such-element", "p": [1, 1]}, valid=False)
        elif choice == 6:
            self.submit({"k": "rst", "from": 0, "els": []}, valid=False)
        else:
            self.send_text(json.dumps({"type": "presence", "name": "Mallory", "color": "#ff0000"}))
