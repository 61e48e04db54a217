"""
Load-generator adapters for the peers: the bench's client, speaking each peer's protocol.

Each adapter is a bench.client.BenchClient: the same stroke model and rate (bench.strokes, one op
per tick, an `add` then STROKE_APPS appends of `points_per_op` points), the same send-time ring
and the same per-delivery accounting (`_on_ops`: latency, duplicates, points), so only the wire
differs. What each sends is what that product's own client sends for a freehand stroke:

* `hocuspocus`: Yjs updates (bench.peers.yjs) in Hocuspocus' framing. A stroke is a Y.Map in the
  root map `strokes` with a Y.Array of points; each op is one transaction. The server echoes
  every update to every connection of the document, the author's included (its delivery), and
  answers the author with a SyncStatus per update (its ack). Like HocuspocusProvider, a client
  authenticates (empty token), syncs, and sends its awareness state on connect and every 15 s.
* `tldraw`: tldraw sync's JSON protocol (version 8). A stroke is a `draw` shape record; each op
  is a `push` of the diff the tldraw client computes for what its draw tool does on each pointer
  move: re-encode the whole segment path (base64 of Float32 first point, Float16 deltas) and
  diff the record, which is a string `append` when the old path ended on a base64 group and a
  `put` of the whole path otherwise. Others get `patch`es (batched by the server per 1/60 s);
  the author gets a `push_result`, which confirms its own op: it counts as the author's
  delivery and ack (as Inkroom's own entry does). A ping every 5 s, as TLSyncClient sends.
* `socketio`: Engine.IO 4 / Socket.IO 5 over a websocket, excalidraw's client events: join the
  room, then `server-broadcast(room, data, iv)` per op with the bench's relay-mode op (msgpack,
  with the author's slot) as `data` and a 12-byte IV, as binary attachments. The relay sends
  each op to the room's *other* sockets only: the author receives nothing and gets no ack, so
  bench.peers.load takes the author out of the expected deliveries.

Receivers identify (author slot, op id) from what the protocol already carries: a Yjs update's
client id and clocks, a tldraw shape id and path length, the relayed op's `c` and `i`. Each
distinct received payload is decoded once per worker, as bench.client does.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import struct
import subprocess
from collections import deque
from time import monotonic_ns
from typing import Any

import msgpack

from bench.client import _STYLE, STROKE_APPS, BenchClient, ClientSpec, FrameDecoder, OpsFrame, Stats
from bench.peers import yjs
from bench.strokes import StrokePool
from bench.wsclient import WsClient

HOCUSPOCUS = "hocuspocus"
TLDRAW = "tldraw"
SOCKETIO = "socketio"
PEERS = (HOCUSPOCUS, TLDRAW, SOCKETIO)
PEERS_DIR = os.path.dirname(os.path.abspath(__file__))

#: HocuspocusProvider's awareness renews its local state this often (y-protocols: half of the
#: 30 s outdated timeout); Hocuspocus closes a socket that sent nothing for 60 s.
AWARENESS_RENEW_SECS = 15.0
#: TLSyncClient pings this often; TLSocketRoom drops a session idle for 20 s.
TLDRAW_PING_SECS = 5.0
TLDRAW_PROTOCOL = 8
#: The first point of a 2D draw path (two Float32) and each further point (two Float16), bytes.
_TL_FIRST, _TL_POINT = 8, 4
#: tldraw ids are `shape:` + 21 characters; ours encode slot and stroke in as many.
_TL_ID = "shape:{slot:07d}-{n:07d}-bench"
#: WebSocket opcodes. bench.worker's `_draw` sends what `next_frame` returns with
#: `ws.send_binary`; the tldraw and Socket.IO transports below map that to their own framing.
_WS_TEXT, _WS_BINARY = 1, 2


def _header_len(n: int) -> int:
    """
    Bytes of a server (unmasked) WebSocket frame header for an n-byte payload.
    """
    return 2 if n < 126 else 4 if n < 65536 else 10


class PeerClient(BenchClient):
    """
    The stroke progression of BenchClient.next_frame, with the encoding left to `encode`.
    """

    def __init__(self, spec: ClientSpec, stats: Stats, ring: memoryview, ring_size: int,
                 mode: str, points_per_op: int, offer_deflate: bool,
                 decoder: FrameDecoder | None = None, *, protocol: int = 2,
                 strokes: StrokePool | None = None) -> None:  # fmt: skip
        super().__init__(spec, stats, ring, ring_size, mode, points_per_op, offer_deflate,
                         decoder, protocol=protocol, strokes=strokes)  # fmt: skip
        self.ws = self.make_ws(offer_deflate)
        self.synced = self.ws.opened.get_loop().create_future()
        self.x = self.y = 0
        #: Op ids sent and not yet acknowledged, oldest first (acks that carry no id).
        self.unacked: deque[int | None] = deque()

    def make_ws(self, offer_deflate: bool) -> WsClient:
        return WsClient(self.on_message, offer_deflate=offer_deflate)

    def next_frame(self) -> tuple[bytes, int]:
        i = self.next_i
        self.next_i += 1
        if self.stroke_left <= 0:
            self.stroke_left = STROKE_APPS
            self.stroke_n += 1
            self.stroke_p = self.strokes.get(self.spec.slot * 7919 + self.stroke_n)[0]
            self.x = self.rng.randint(-5000, 5000)
            self.y = self.rng.randint(-5000, 5000)
            k, pts = 0, [0, 0]
        else:
            n = self.points_per_op
            k = STROKE_APPS - self.stroke_left + 1
            at = 2 * n * (k - 1)
            self.stroke_left -= 1
            pts = self.stroke_p[at : at + 2 * n]
        frame = self.encode(i, k, pts)
        self.ring[self.base + (i & self.mask)] = monotonic_ns() // 1000
        return frame, 1 if k == 0 else self.points_per_op

    def encode(self, i: int, k: int, pts: list[int]) -> bytes:
        """
        The frame of op `i`, the k-th of its stroke (0: the `add`), with its point deltas.
        """
        raise NotImplementedError

    def count_in(self, n: int) -> None:
        if self.counting:
            counts = self.stats.counts
            counts["ops_frames_in"] += 1
            counts["ops_bytes_in"] += n + _header_len(n)

    def ack_next(self, now_us: int) -> None:
        """
        The oldest unacknowledged op is acknowledged (protocols whose acks carry no id).
        """
        if not self.unacked:
            return
        i = self.unacked.popleft()
        if i is not None and i > self.ack_hwm:
            self.ack_hwm = i
            self.stats.counts["acked"] += 1
            self.stats.ack.record(now_us - self.ring[self.base + (i & self.mask)])


# --- Hocuspocus --------------------------------------------------------------------------------


class HocuspocusClient(PeerClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.doc = f"r{self.spec.board}"
        self.client = yjs.client_of(self.spec.slot)
        self.clocks = yjs.StrokeClock(STROKE_APPS, self.points_per_op)
        self.awareness_clock = 0
        self.authenticated = False
        #: The Hocuspocus message prefix of this document (its name), stripped from receipts.
        self.prefix = yjs.var_string(self.doc)

    async def connect(self) -> None:
        await self.ws.connect(self.spec.host, self.spec.port, "/")
        send = self.ws.send_binary
        send(yjs.msg_auth(self.doc))
        send(yjs.msg_sync_step1(self.doc))
        self._send_awareness()
        await self.synced

    def _send_awareness(self) -> None:
        if self.ws.transport is None or self.ws.transport.is_closing():
            return
        self.awareness_clock += 1
        self.ws.send_binary(yjs.msg_awareness(self.doc, self.client, self.awareness_clock))
        loop = self.ws.opened.get_loop()
        loop.call_later(AWARENESS_RENEW_SECS, self._send_awareness)

    def encode(self, i: int, k: int, pts: list[int]) -> bytes:
        clock = self.clocks.clock_of(i)
        if k == 0:
            element = f"s{self.spec.slot}-{self.stroke_n}"
            update = yjs.encode_add(self.client, clock, element, self.x, self.y, _STYLE)
        else:
            update = yjs.encode_app(self.client, clock, pts)
        self.unacked.append(i)
        return yjs.msg_update(self.doc, update)

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now_ns: int) -> None:
        prefix = self.prefix
        if is_text or not payload.startswith(prefix):
            return
        r = yjs.Reader(payload, len(prefix))
        kind = r.uint()
        if kind in (yjs.MSG_SYNC, yjs.MSG_SYNC_REPLY):
            step = r.uint()
            if step == yjs.SYNC_UPDATE:
                frame = self.frames.get(payload)
                if frame is None:
                    frame = self._decode(payload, r.bytes_())
                self.count_in(len(payload))
                self._on_ops(frame, now_ns // 1000)
            elif step == yjs.SYNC_STEP2:
                # The server's state: what this client has now (it draws new strokes only).
                if not self.synced.done():
                    self.synced.set_result(None)
            elif step == yjs.SYNC_STEP1:
                # As y-protocols answers: what the server lacks of ours (nothing yet). Hocuspocus
                # acknowledges it like an update, with a SyncStatus that acks no op.
                self.unacked.append(None)
                ws.send_binary(yjs.msg_sync_step2(self.doc, yjs.EMPTY_UPDATE))
        elif kind == yjs.MSG_SYNC_STATUS:
            self.ack_next(now_ns // 1000)
        elif kind == yjs.MSG_AUTH:
            denied = r.uint() == yjs.AUTH_PERMISSION_DENIED
            if denied and not self.synced.done():
                self.synced.set_exception(RuntimeError("hocuspocus: permission denied"))

    def _decode(self, payload: bytes, update: bytes) -> OpsFrame:
        rows: list[tuple[int | None, int, int, int]] = []
        ops_in = self.clocks.ops_in
        for client, start, end in yjs.client_ranges(update):
            slot = yjs.slot_of(client)
            if slot < 0:
                rows.append((None, -1, 0, 0))
                continue
            rows.extend((None, slot, i, points) for i, points in ops_in(start, end))
        frame = self.decoder._frame(rows)
        frames = self.frames
        if len(frames) >= 4096:
            frames.clear()
        frames[payload] = frame
        return frame


# --- tldraw sync -------------------------------------------------------------------------------


@functools.cache
def tldraw_schema() -> Any:
    """
    The serialized schema a tldraw client of the pinned version sends in `connect`.
    """
    out = subprocess.run(
        ["node", os.path.join(PEERS_DIR, "tldraw.mjs"), "--schema"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)


def tldraw_shape_id(slot: int, stroke: int) -> str:
    return _TL_ID.format(slot=slot, n=stroke)


def tldraw_path(points_b64: bytes) -> str:
    return base64.b64encode(points_b64).decode()


def tldraw_points_of(path_len: int, padding: int) -> int:
    """
    The number of points of a 2D draw path from its base64 length and trailing '=' count.
    """
    nbytes = path_len * 3 // 4 - padding
    return 1 + (nbytes - _TL_FIRST) // _TL_POINT


class TldrawText(WsClient):
    """
    tldraw sync sends JSON text frames: `_draw`'s send_binary goes out as text.
    """

    def send_binary(self, payload: bytes) -> None:
        self._send(_WS_TEXT, payload)


class TldrawClient(PeerClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Our own pushes come back as push_results: they are this client's delivery and ack.
        self.own_slot = self.spec.slot
        self.path = bytearray()
        self.path_str = ""
        self.record: dict[str, Any] = {}
        self.prefix = _TL_ID.split("{", 1)[0]

    def make_ws(self, offer_deflate: bool) -> WsClient:
        return TldrawText(self.on_message, offer_deflate=offer_deflate)

    async def connect(self) -> None:
        spec = self.spec
        path = f"/connect/r{spec.board}?sessionId=bench-{spec.slot}-{os.getpid()}"
        await self.ws.connect(spec.host, spec.port, path)
        hello = {
            "type": "connect", "connectRequestId": f"bench-{spec.slot}", "lastServerClock": -1,
            "protocolVersion": TLDRAW_PROTOCOL, "schema": tldraw_schema(),
        }  # fmt: skip
        self.ws.send_text(json.dumps(hello, separators=(",", ":")))
        self._ping()
        await self.synced

    def _ping(self) -> None:
        if self.ws.transport is None or self.ws.transport.is_closing():
            return
        self.ws.send_text('{"type":"ping"}')
        self.ws.opened.get_loop().call_later(TLDRAW_PING_SECS, self._ping)

    def encode(self, i: int, k: int, pts: list[int]) -> bytes:
        sid = tldraw_shape_id(self.spec.slot, self.stroke_n)
        if k == 0:
            self.path = bytearray(struct.pack("<ff", 0.0, 0.0))
            self.path_str = tldraw_path(bytes(self.path))
            op: list[Any] = ["put", self._new_shape(sid)]
        else:
            # Float16 deltas (struct's 'e'), as b64Vecs.encodePoints2D writes them.
            self.path += struct.pack(f"<{len(pts)}e", *pts)
            new = tldraw_path(bytes(self.path))
            old, self.path_str = self.path_str, new
            # The tldraw client's diffRecord: an append if the old path is a prefix, else a put.
            value = ["append", new[len(old) :], len(old)] if new.startswith(old) else ["put", new]
            op = [
                "patch",
                {"props": ["patch", {"segments": ["patch", {"0": ["patch", {"path": value}]}]}]},
            ]
        push = {"type": "push", "clientClock": i - 1, "diff": {sid: op}}
        return json.dumps(push, separators=(",", ":")).encode()

    def _new_shape(self, sid: str) -> dict[str, Any]:
        # What the draw tool creates for a mouse stroke (2D path, not a pen), default styles.
        return {
            "id": sid, "typeName": "shape", "type": "draw", "x": self.x, "y": self.y,
            "rotation": 0, "index": "a1", "parentId": "page:page", "isLocked": False,
            "opacity": 1, "meta": {},
            "props": {
                "color": "black", "fill": "none", "dash": "draw", "size": "m",
                "segments": [{"type": "free", "path": self.path_str, "dim": 2}],
                "isComplete": False, "isClosed": False, "isPen": False,
                "scale": 1, "scaleX": 1, "scaleY": 1,
            },
        }  # fmt: skip

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now_ns: int) -> None:
        frame = self.frames.get(payload)
        if frame is None:
            msg = json.loads(payload)
            kind = msg.get("type")
            if kind == "connect":
                if not self.synced.done():
                    self.synced.set_result(None)
                return
            if kind == "incompatibility_error" or kind == "error":
                if not self.synced.done():
                    self.synced.set_exception(RuntimeError(f"tldraw: {msg}"))
                return
            events = (
                msg["data"] if kind == "data" else [msg] if kind in ("patch", "push_result") else []
            )
            if not events:
                return
            frame = self._decode(payload, events)
        self.count_in(len(payload))
        self._on_ops(frame, now_ns // 1000)

    def _decode(self, payload: bytes, events: list[dict[str, Any]]) -> OpsFrame:
        rows: list[tuple[int | None, int, int, int]] = []
        prefix, slot_self, apps = self.prefix, self.spec.slot, STROKE_APPS
        own = False
        for event in events:
            if event["type"] == "push_result":
                own = True
                i = event["clientClock"] + 1
                action = event["action"]
                if action == "discard":
                    self.stats.counts["rejected"] += 1
                    continue
                if action != "commit":
                    self.stats.errors["rebase"] = self.stats.errors.get("rebase", 0) + 1
                k = (i - 1) % (apps + 1)
                rows.append((None, slot_self, i, 1 if k == 0 else self.points_per_op))
                continue
            for rid, op in event["diff"].items():
                if not rid.startswith(prefix) or not rid.endswith("-bench"):
                    if rid.startswith("shape:"):
                        rows.append((None, -1, 0, 0))
                    continue
                slot, stroke = int(rid[6:13]), int(rid[14:21])
                if op[0] == "put":
                    k = 0
                else:
                    value = op[1]["props"][1]["segments"][1]["0"][1]["path"]
                    text = value[1]
                    length = value[2] + len(text) if value[0] == "append" else len(text)
                    padding = len(text) - len(text.rstrip("="))
                    k = (tldraw_points_of(length, padding) - 1) // self.points_per_op
                i = (stroke - 1) * (apps + 1) + 1 + k
                rows.append((None, slot, i, 1 if k == 0 else self.points_per_op))
        frame = self.decoder._frame(rows)
        # A push_result is its author's alone, and two rooms' can be byte-identical (same client
        # and server clocks): only frames of patches, the same for all, go in the shared cache.
        if not own:
            frames = self.frames
            if len(frames) >= 4096:
                frames.clear()
            frames[payload] = frame
        return frame


# --- Socket.IO relay (excalidraw-room) -----------------------------------------------------------

_EIO_OPEN, _EIO_PING, _EIO_PONG, _EIO_MESSAGE = "0", "2", "3", "4"
_BROADCAST = b'452-["client-broadcast",'
#: AES-GCM's IV size, what excalidraw sends beside each encrypted update.
_IV = bytes(12)


class SocketIoWs(WsClient):
    """
    Sends an op as a Socket.IO binary event: a text header naming two attachments, the op and
    the IV as binary frames (Engine.IO 4 sends binary payloads as raw binary frames).
    """

    header = b""

    def send_binary(self, payload: bytes) -> None:
        self._send(_WS_TEXT, self.header)
        self._send(_WS_BINARY, payload)
        self._send(_WS_BINARY, _IV)


class SocketIoClient(PeerClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        room = f"r{self.spec.board}"
        self.room = room
        placeholders = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}'
        header = f'452-["server-broadcast",{json.dumps(room)},{placeholders}]'.encode()
        assert isinstance(self.ws, SocketIoWs)
        self.ws.header = header
        #: Wire bytes of the header and IV frames that go with each op (masked client frames).
        self.extra_up = len(header) + 6 + len(_IV) + 6
        #: The attachments still expected for the `client-broadcast` being received, and its op.
        self.attachments = 0
        self.op_payload = b""
        self.in_bytes = 0

    def make_ws(self, offer_deflate: bool) -> WsClient:
        return SocketIoWs(self.on_message, offer_deflate=offer_deflate)

    async def connect(self) -> None:
        spec = self.spec
        await self.ws.connect(spec.host, spec.port, "/socket.io/?EIO=4&transport=websocket")
        await self.synced

    def encode(self, i: int, k: int, pts: list[int]) -> bytes:
        if k == 0:
            self.element = f"s{self.spec.slot}-{self.stroke_n}"
            el = {"id": self.element, "type": "stroke", "x": self.x, "y": self.y,
                  "style": _STYLE, "p": [0, 0]}  # fmt: skip
            op: dict[str, Any] = {"i": i, "k": "add", "el": el}
        else:
            op = {"i": i, "k": "app", "id": self.element, "p": pts}
        op["c"] = self.spec.slot
        if self.counting:
            self.stats.counts["bytes_sent_ops"] += self.extra_up
        return bytes(msgpack.packb({"t": "ops", "ops": [op]}))

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now_ns: int) -> None:
        if not is_text:
            if self.attachments == 0:
                return
            self.attachments -= 1
            self.in_bytes += len(payload) + _header_len(len(payload))
            if self.attachments == 1:
                self.op_payload = payload
                return
            # The whole event is in: account for the op (the bench's relay-mode path).
            if self.counting:
                op = len(self.op_payload)
                self.stats.counts["ops_bytes_in"] += self.in_bytes - op - _header_len(op)
            BenchClient.on_message(self, ws, False, self.op_payload, now_ns)
            return
        if payload.startswith(_BROADCAST):
            self.attachments = 2
            self.in_bytes = len(payload) + _header_len(len(payload))
            return
        kind = payload[:1].decode()
        if kind == _EIO_PING:
            ws.send_text(_EIO_PONG)
        elif kind == _EIO_OPEN:
            ws.send_text("40")
        elif kind == _EIO_MESSAGE and not self.synced.done():
            if payload.startswith(b"40"):
                ws.send_text(f'42["join-room",{json.dumps(self.room)}]')
            elif payload.startswith((b'42["first-in-room"', b'42["room-user-change"')):
                # Either means the server has put this socket in the room.
                self.synced.set_result(None)
            elif payload.startswith(b"44"):
                self.synced.set_exception(RuntimeError(f"socket.io: {payload[:80]!r}"))


ADAPTERS: dict[str, type[PeerClient]] = {
    HOCUSPOCUS: HocuspocusClient,
    TLDRAW: TldrawClient,
    SOCKETIO: SocketIoClient,
}


def make_client(spec: ClientSpec, stats: Stats, ring: memoryview, ring_size: int, mode: str,
                *args: Any, **kwargs: Any) -> BenchClient:  # fmt: skip
    """
    bench.worker's client constructor, dispatching on the run's mode: a peer's adapter, or the
    bench's own client for Inkroom and the reference servers.
    """
    cls = ADAPTERS.get(mode, BenchClient)
    return cls(spec, stats, ring, ring_size, mode, *args, **kwargs)
