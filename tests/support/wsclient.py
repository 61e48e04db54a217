"""
A real-protocol test client over real sockets: the reference behaviour of docs/protocol.md §4.

`BoardClient` connects with the `websockets` library, keeps an outbox of unacked ops, applies
server `ops` entries strictly in `seq` order, holds frames that arrive after a gap and asks for
the missing range with `resync` after `gap_wait` seconds, takes `snap` frames, and reconnects
(to the same or another server) with `since` = its applied seq and the same client_id, resending
its outbox. It speaks msgpack/JSON directly rather than through realtime.wire.protocol, so a codec
bug cannot hide on both sides. With `version=2` it sends stroke adds and appends as UP_ADD /
UP_NEXT (UP_APP when an append does not follow the op before it, or has pressure) and reads
DOWN_OPS / DEFS / CONT (protocol §2.5) with tests/support/refclient.py, the reference client. The
board model is board.document.reducer (the server's reducer), so "same state" means the same
BoardState.

    client = BoardClient(server.ws_url(f"/ws/boards/{board.id}/"), headers=token_header(user))
    await client.connect()
    await client.draw_stroke(points=8)
    await client.wait_acked()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from board.document import BoardState, apply_in_place
from tests.support import refclient

#: How long a client holds frames that follow a gap before it asks for the range (seconds);
#: protocol.md's default limits.gap_wait_ms is 500 ms.
DEFAULT_GAP_WAIT_SECS = 0.5
#: The element keys an UP_ADD can carry.
_STROKE_KEYS = frozenset({"id", "type", "x", "y", "style", "p", "pr"})
#: Delay before resending ops refused with `unavailable` or `rate_limited` (seconds).
RETRY_SECS = 0.2


def _entry(entry: bytes | dict[str, Any]) -> dict[str, Any]:
    return entry if isinstance(entry, dict) else _unpack(entry)


class BoardClient:
    """
    One client of one board: outbox, ordered apply with gap detection, resync and reconnect.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        client_id: str | None = None,
        gap_wait: float = DEFAULT_GAP_WAIT_SECS,
        name: str = "client",
        version: int = 1,
    ) -> None:
        self.url = url
        self.version = version
        #: v2, per connection: handles and continuations, and the current stroke (§2.5).
        self._session = refclient.RefSession()
        self._stroke: str | None = None
        #: v2: the id of the last op sent on this connection (what an UP_NEXT numbers after).
        self._last_i: int | None = None
        self.headers = dict(headers or {})
        self.client_id = client_id or secrets.token_urlsafe(9)
        self.gap_wait = gap_wait
        self.name = name
        self.state = BoardState()
        self.hello: dict[str, Any] | None = None
        self.outbox: dict[int, dict[str, Any]] = {}
        self.acked: dict[int, int] = {}
        self.rejected: dict[int, str] = {}
        self.errors: list[dict[str, Any]] = []
        self.close_codes: list[int | None] = []
        self.resyncs_sent = 0
        self.gaps_seen = 0
        self.duplicates_seen = 0
        self.connects = 0
        self._next_op_id = 1
        self._held: dict[int, dict[str, Any]] = {}
        self._gap_task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._synced = asyncio.Event()
        self._changed = asyncio.Condition()
        self._open = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- connection -----------------------------------------------------------------------------

    @property
    def applied(self) -> int:
        return self.state.seq

    @property
    def connected(self) -> bool:
        return self._open

    async def connect(self, url: str | None = None, *, timeout: float = 10.0) -> dict[str, Any]:
        """
        Open the socket (with since = applied seq), wait for `synced`, resend the outbox.
        """
        if url is not None:
            self.url = url
        await self._drop_socket()
        self._bind_loop()
        self._synced.clear()
        self.hello = None
        self._session, self._stroke, self._last_i = refclient.RefSession(), None, None
        query = f"v={self.version}&since={self.applied}&client_id={self.client_id}"
        sep = "&" if "?" in self.url else "?"
        self._ws = await connect(
            f"{self.url}{sep}{query}",
            additional_headers=self.headers,
            proxy=None,
            open_timeout=timeout,
            max_size=2**24,
            compression=None,
        )
        self.connects += 1
        self._open = True
        self._reader = asyncio.create_task(self._read_loop(self._ws), name=f"{self.name}-reader")
        await self._wait(lambda: self._synced.is_set() or not self.connected, timeout)
        if not self._synced.is_set():
            raise ConnectionError(f"{self.name}: closed before synced: {self.close_codes[-1:]}")
        await self._send_ops([self.outbox[i] for i in sorted(self.outbox)])
        assert self.hello is not None
        return self.hello

    async def reconnect(
        self, url: str | None = None, *, within: float = 15.0, delay: float = 0.05
    ) -> dict[str, Any]:
        """
        connect() until it succeeds or `within` seconds pass, backing off from `delay`.

        A restarting server refuses the TCP connection, a draining one accepts and closes with
        1012 before `synced`: both are retried, as a browser client would (protocol.md §7).
        """
        deadline = time.monotonic() + within
        while True:
            try:
                return await self.connect(url, timeout=max(deadline - time.monotonic(), 0.1))
            except (OSError, ConnectionError, TimeoutError, InvalidHandshake):
                if time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        await self._drop_socket()

    def _bind_loop(self) -> None:
        # A client outlives an event loop when a sync test runs several asyncio.run() phases
        # (draw, kill a server, resume); asyncio primitives belong to one loop.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._synced = asyncio.Event()
            self._changed = asyncio.Condition()
            self._tasks = set()

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        """
        Wait for the server to close the socket; return the close code.
        """
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_codes[-1] if self.close_codes else None

    async def _drop_socket(self) -> None:
        if self._gap_task is not None:
            self._gap_task.cancel()
            self._gap_task = None
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)
        if self._reader is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 2.0)
        self._ws = None
        self._reader = None

    # --- sending --------------------------------------------------------------------------------

    async def send_ops(self, ops: list[dict[str, Any]]) -> list[int]:
        """
        Give each op a fresh client op id, put it in the outbox and send it if connected.
        """
        ids = []
        for op in ops:
            op = {"i": self._next_op_id, **op}
            self._next_op_id += 1
            self.outbox[op["i"]] = op
            ids.append(op["i"])
        if self.connected:
            with contextlib.suppress(ConnectionClosed):
                await self._send_ops([self.outbox[i] for i in ids])
        return ids

    async def _send_ops(self, ops: list[dict[str, Any]]) -> None:
        # At most hello.limits.max_ops_per_frame ops per frame (a long outbox after an outage).
        limit = int((self.hello or {}).get("limits", {}).get("max_ops_per_frame", 256))
        batch: list[dict[str, Any]] = []
        for op in ops:
            # The pending batch goes out before a compact frame: UP_NEXT numbers after it.
            before = batch[-1]["i"] if batch else self._last_i
            frame = self._compact(op, before) if self.version >= 2 else None
            if frame is not None or len(batch) == limit:
                if batch:
                    await self._send_binary({"t": "ops", "ops": batch})
                    self._last_i = batch[-1]["i"]
                batch = []
            if frame is not None:
                self._last_i = op["i"]
            if frame is None:
                batch.append(op)
                self._follow_stroke(op)
            else:
                await self._send_raw(frame)
        if batch:
            await self._send_binary({"t": "ops", "ops": batch})
            self._last_i = batch[-1]["i"]

    def _compact(self, op: dict[str, Any], last_i: int | None) -> bytes | None:
        """
        The op as an UP_NEXT, UP_APP or UP_ADD frame when it is a stroke append or add, else
        None. UP_NEXT when the append has no pressure and follows `last_i`, the id of the op
        before it on this connection.
        """
        if op["k"] == "app" and op["id"] == self._stroke:
            if "pr" not in op and last_i is not None and op["i"] == last_i + 1:
                return refclient.encode_up_next(op["p"])
            return refclient.encode_up_app(op["i"], op["p"], op.get("pr"))
        el = op.get("el")
        if op["k"] == "add" and el["type"] == "stroke" and el.keys() <= _STROKE_KEYS:
            self._stroke = el["id"]
            return refclient.encode_up_add(
                op["i"], el["id"], el["x"], el["y"], el["style"], el["p"], el.get("pr")
            )
        return None

    def _follow_stroke(self, op: dict[str, Any]) -> None:
        if op["k"] == "app":
            self._stroke = op["id"]
        elif op["k"] == "add" and op["el"]["type"] == "stroke":
            self._stroke = op["el"]["id"]

    async def draw_stroke(self, *, points: int = 6, chunk: int = 3, x: int = 0, y: int = 0) -> str:
        """
        Draw a freehand stroke as one `add` and `app` ops of `chunk` points; return its id.
        """
        el_id = secrets.token_urlsafe(6)
        style = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
        element = {"id": el_id, "type": "stroke", "x": x, "y": y, "style": style, "p": [0, 0]}
        await self.send_ops([{"k": "add", "el": element}])
        for start in range(1, points, chunk):
            n = min(chunk, points - start)
            await self.send_ops([{"k": "app", "id": el_id, "p": [1, 1] * n}])
        return el_id

    async def resync(self) -> None:
        await self._send_text({"type": "resync", "from": self.applied})
        self.resyncs_sent += 1

    async def _send_binary(self, message: dict[str, Any]) -> None:
        await self._send_raw(msgpack.packb(message))

    async def _send_raw(self, frame: bytes) -> None:
        if self._ws is None:
            raise ConnectionError(f"{self.name} is not connected")
        await self._ws.send(frame)

    async def _send_text(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise ConnectionError(f"{self.name} is not connected")
        await self._ws.send(json.dumps(message))

    # --- waiting --------------------------------------------------------------------------------

    async def _wait(self, predicate: Any, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_acked(self, timeout: float = 10.0) -> None:
        """
        Wait until the outbox is empty (every op acked or rejected).
        """
        await self._wait(lambda: not self.outbox, timeout)

    async def wait_seq(self, seq: int, timeout: float = 10.0) -> None:
        """
        Wait until every op up to `seq` is applied.
        """
        await self._wait(lambda: self.applied >= seq, timeout)

    async def wait_disconnected(self, timeout: float = 10.0) -> None:
        await self._wait(lambda: not self.connected, timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- receiving ------------------------------------------------------------------------------

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                if isinstance(frame, bytes) and frame[:1] and frame[0] in refclient.DOWN_FRAMES:
                    entries = self._session.decode(frame)
                    # DEFS and CONT only feed the session; this client never opts in to
                    # tentatives (no DOWN_TENT).
                    if isinstance(entries, list):
                        self._on_entries([_entry(e) for e in entries])
                elif isinstance(frame, bytes):
                    self._on_binary(_unpack(frame))
                else:
                    await self._on_text(json.loads(frame))
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            self._open = False
            self.close_codes.append(ws.close_code)
            await self._notify()

    def _on_binary(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "ops":
            self._on_entries(message["ops"])
        elif kind == "ack":
            for op_id, seq in message["a"]:
                self.acked[op_id] = seq
                self.outbox.pop(op_id, None)
        elif kind == "snap":
            els = {el["id"]: el for el in message["els"]}
            self.state = BoardState(els, int(message["s"]))
            self._held = {s: e for s, e in self._held.items() if s > self.applied}
            self._apply_held()

    def _on_entries(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            seq = entry["s"]
            if entry["c"] == self.client_id:
                # Our own op in the log is its ack (protocol §2.2): `ack` frames only come for
                # resends of stored ops and while catching up.
                self.acked[entry["i"]] = seq
                self.outbox.pop(entry["i"], None)
            if seq <= self.applied:
                self.duplicates_seen += 1
            else:
                self._held[seq] = entry
        self._apply_held()
        if self._held and (self._gap_task is None or self._gap_task.done()):
            self.gaps_seen += 1
            self._gap_task = asyncio.create_task(self._resync_after_gap())

    def _apply_held(self) -> None:
        while self.applied + 1 in self._held:
            apply_in_place(self.state, self._held.pop(self.applied + 1))
        self._held = {s: e for s, e in self._held.items() if s > self.applied}

    async def _resync_after_gap(self) -> None:
        # Ask only when a whole gap_wait passed without progress: the missing frames usually
        # arrive on their own (reordering between processes, or the server filling the gap).
        while self._held:
            before = self.applied
            await asyncio.sleep(self.gap_wait)
            if self._held and self.applied == before:
                with contextlib.suppress(ConnectionClosed, ConnectionError):
                    await self.resync()

    async def _on_text(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "hello":
            self.hello = message
            self.client_id = message["client_id"]
        elif kind == "synced":
            self._synced.set()
        elif kind == "error":
            self.errors.append(message)
            await self._on_error(message)

    async def _on_error(self, message: dict[str, Any]) -> None:
        ids = [i for i in message.get("ids") or [] if i in self.outbox]
        if message["code"] in ("unavailable", "rate_limited") and ids:
            task = asyncio.create_task(self._retry(ids))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            for op_id in ids:
                self.rejected[op_id] = message["code"]
                self.outbox.pop(op_id, None)

    async def _retry(self, ids: list[int]) -> None:
        await asyncio.sleep(RETRY_SECS)
        ops = [self.outbox[i] for i in ids if i in self.outbox]
        if ops and self.connected:
            with contextlib.suppress(ConnectionClosed, ConnectionError):
                await self._send_ops(ops)


def token_header(key: str) -> dict[str, str]:
    """
    Return the Authorization header of a DRF API token (protocol.md §1).
    """
    return {"Authorization": f"Token {key}"}


async def converge(clients: list[BoardClient], head_seq: int, timeout: float = 15.0) -> None:
    """
    Wait until every client applied up to `head_seq`; on timeout name the laggards.
    """
    deadline = time.monotonic() + timeout
    for client in clients:
        remaining = max(deadline - time.monotonic(), 0.01)
        try:
            await client.wait_seq(head_seq, remaining)
        except TimeoutError:
            raise AssertionError(
                f"{client.name} stuck at seq {client.applied} of {head_seq} "
                f"(held {sorted(client._held)[:5]}, closes {client.close_codes})"
            ) from None


def settled_head(clients: list[BoardClient]) -> int:
    """
    Return the highest seq any client had acked: the board's head once every outbox is empty.
    """
    return max((max(c.acked.values(), default=0) for c in clients), default=0)


def assert_durable(clients: list[BoardClient], board_id: str) -> BoardState:
    """
    Check the end of a run against the durable log (sync; call outside the event loop).

    Every op a client created is stored exactly once (none lost, none duplicated) at the seq it
    was acked with, the log has no other ops, and every client's state equals
    board.snapshots.state_at(board). Returns the durable state.
    """
    from board.models import Op
    from board.snapshots import state_at

    rows = list(
        Op.objects.filter(board_id=board_id).values_list("client_id", "client_op_id", "seq")
    )
    stored = {(c, i): s for c, i, s in rows}
    assert len(stored) == len(rows), "an op is stored twice"
    seqs = sorted(s for _, _, s in rows)
    assert seqs == list(range(1, len(seqs) + 1)), "the log's seqs are not 1..n"
    expected = 0
    for client in clients:
        assert not client.outbox, f"{client.name} still has unacked ops {sorted(client.outbox)}"
        assert not client.rejected, f"{client.name} had ops rejected: {client.rejected}"
        created = set(range(1, client._next_op_id))
        mine = {i: s for (c, i), s in stored.items() if c == client.client_id}
        assert set(mine) == created, (
            f"{client.name}: lost {sorted(created - set(mine))[:10]}, "
            f"unexpected {sorted(set(mine) - created)[:10]}"
        )
        wrong = {i: (s, mine[i]) for i, s in client.acked.items() if mine[i] != s}
        assert not wrong, f"{client.name}: acked seq differs from the log: {wrong}"
        expected += len(created)
    assert len(rows) == expected, f"the log holds {len(rows)} ops, the clients made {expected}"
    durable = state_at(board_id)
    for client in clients:
        assert client.state == durable, f"{client.name} at {client.state}, log at {durable}"
    return durable


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)
