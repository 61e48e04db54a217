"""
One simulated board client: joins, draws strokes, and accounts for every op it receives.

Latency without distorting the wire: a sender writes the send time (µs on CLOCK_MONOTONIC) of
its op `i` into a shared-memory ring at `slot * ring + i % ring` before sending it; any
receiver, in any worker process, reads it back from the `(c, i)` of the entry it gets (Inkroom
entries carry the author's `client_id`, which encodes the slot). Ops therefore carry exactly
what a real client sends: a small increasing `i`, the element id and delta-encoded points.
The reference servers only relay frames, so there the sender adds `c` (its slot, a 1-2 byte
int) to each op.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from time import monotonic_ns
from typing import Any

import msgpack

from bench.hist import Histogram
from bench.wsclient import WsClient

#: Each stroke is one `add` then this many `app` ops (about 2 s of drawing at 30 Hz).
STROKE_APPS = 60
#: Pointer deltas are drawn from ±this range (world units): typical pen motion between
#: pointer events, and inside msgpack's 1-byte fixint range like real freehand deltas.
DELTA_RANGE = 7
CLIENT_ID_PREFIX = "bench"
_STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """
    Everything a worker needs to run one client (picklable).
    """

    path: str
    port: int
    board: int
    slot: int
    draw: bool = False
    slow: bool = False
    host: str = "127.0.0.1"
    headers: dict[str, str] = field(default_factory=dict)


def client_id_for(slot: int) -> str:
    return f"{CLIENT_ID_PREFIX}{slot:06d}"


class Stats:
    """
    A worker's counters and histograms; summed across workers by bench.load.
    """

    def __init__(self) -> None:
        self.latency = Histogram()
        self.ack = Histogram()
        self.sched_lag = Histogram()
        self.sent_by_board: dict[int, int] = {}
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "ops_sent",
                "frames_sent",
                "points_sent",
                "bytes_sent_ops",
                "delivered",
                "duplicates",
                "seq_gaps",
                "acked",
                "rejected",
                "frames_in",
                "frames_out",
                "bytes_in",
                "bytes_out",
                "ops_frames_in",
                "ops_bytes_in",
                "points_delivered",
                "foreign_entries",
            ),
            0,
        )
        self.errors: dict[str, int] = {}
        self.closes: dict[str, int] = {}


class BenchClient:
    """
    Protocol handling for one connection; `mode` is "inkroom" or "relay" (reference servers).
    """

    def __init__(
        self,
        spec: ClientSpec,
        stats: Stats,
        ring: memoryview,
        ring_size: int,
        mode: str,
        points_per_op: int,
        offer_deflate: bool,
    ) -> None:
        self.spec = spec
        self.stats = stats
        self.ring = ring
        self.mask = ring_size - 1
        self.base = spec.slot * ring_size
        self.mode = mode
        self.points_per_op = points_per_op
        self.ws = WsClient(self.on_message, offer_deflate=offer_deflate)
        self.hwm: dict[int, int] = {}
        #: Highest own op id acknowledged (by an `ack` frame or by our own entry).
        self.ack_hwm = 0
        self.last_seq = 0
        self.synced = self.ws.opened.get_loop().create_future()
        self.next_i = 1
        self.stroke_left = 0
        self.stroke_n = 0
        self.rng = random.Random(spec.slot)
        self._slot_cache: dict[Any, int] = {}
        self.counting = False

    async def connect(self) -> None:
        spec = self.spec
        await self.ws.connect(
            spec.host,
            spec.port,
            spec.path,
            headers=spec.headers,
            rcvbuf=4096 if spec.slow else None,
        )
        if self.mode != "inkroom":
            self.synced.set_result(None)
        await self.synced
        if spec.slow:
            self.ws.pause_reading()

    def next_frame(self) -> tuple[bytes, int]:
        """
        Build the next op frame of this client's current stroke; returns (frame, points).
        """
        i = self.next_i
        self.next_i += 1
        rng = self.rng
        if self.stroke_left <= 0:
            self.stroke_left = STROKE_APPS
            self.stroke_n += 1
            self.element = f"s{self.spec.slot}-{self.stroke_n}"
            el = {
                "id": self.element,
                "type": "stroke",
                "x": rng.randint(-5000, 5000),
                "y": rng.randint(-5000, 5000),
                "style": _STYLE,
                "p": [0, 0],
            }
            op: dict[str, Any] = {"i": i, "k": "add", "el": el}
            points = 1
        else:
            self.stroke_left -= 1
            n = self.points_per_op
            pts = [rng.randint(-DELTA_RANGE, DELTA_RANGE) for _ in range(2 * n)]
            op = {"i": i, "k": "app", "id": self.element, "p": pts}
            points = n
        if self.mode != "inkroom":
            op["c"] = self.spec.slot
        self.ring[self.base + (i & self.mask)] = monotonic_ns() // 1000
        return msgpack.packb({"t": "ops", "ops": [op]}), points

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now_ns: int) -> None:
        if is_text:
            self._on_text(json.loads(payload))
            return
        msg = msgpack.unpackb(payload)
        kind = msg.get("t")
        if kind == "ops":
            if self.counting:
                self.stats.counts["ops_frames_in"] += 1
                # Wire bytes: payload plus the server's unmasked frame header.
                n = len(payload)
                self.stats.counts["ops_bytes_in"] += n + (2 if n < 126 else 4 if n < 65536 else 10)
            self._on_ops(msg["ops"], now_ns // 1000)
        elif kind == "ack":
            self._on_ack(msg["a"], now_ns // 1000)

    def _on_ops(self, entries: list[dict[str, Any]], now_us: int) -> None:
        stats = self.stats
        counts = stats.counts
        record = stats.latency.record
        ring = self.ring
        mask = self.mask
        hwm = self.hwm
        for entry in entries:
            seq = entry.get("s")
            if seq is not None:
                if seq <= self.last_seq:
                    counts["duplicates"] += 1
                    continue
                if seq > self.last_seq + 1 and self.last_seq:
                    counts["seq_gaps"] += 1
                self.last_seq = seq
            slot = self._slot(entry.get("c"))
            if slot < 0:
                counts["foreign_entries"] += 1
                continue
            i = entry["i"]
            if i <= hwm.get(slot, 0):
                counts["duplicates"] += 1
                continue
            hwm[slot] = i
            counts["delivered"] += 1
            pts = entry.get("p")
            counts["points_delivered"] += len(pts) // 2 if pts else 1
            took = now_us - ring[slot * (mask + 1) + (i & mask)]
            record(took)
            if slot == self.spec.slot and i > self.ack_hwm and self.mode == "inkroom":
                # Our own entry is our ack (protocol §2.2): ack latency = until we see it.
                self.ack_hwm = i
                counts["acked"] += 1
                stats.ack.record(took)

    def _on_ack(self, pairs: list[list[int]], now_us: int) -> None:
        # `ack` frames now come only for resends and catch-ups; count each op once either way.
        stats = self.stats
        for i, _seq in pairs:
            if i <= self.ack_hwm:
                continue
            self.ack_hwm = i
            stats.counts["acked"] += 1
            stats.ack.record(now_us - self.ring[self.base + (i & self.mask)])

    def _slot(self, c: Any) -> int:
        slot = self._slot_cache.get(c)
        if slot is None:
            if isinstance(c, int):
                slot = c
            elif isinstance(c, str) and c.startswith(CLIENT_ID_PREFIX):
                slot = int(c[len(CLIENT_ID_PREFIX) :])
            else:
                slot = -1
            self._slot_cache[c] = slot
        return slot

    def _on_text(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "synced":
            self.last_seq = int(msg.get("seq", 0))
            if not self.synced.done():
                self.synced.set_result(None)
        elif kind == "error":
            code = str(msg.get("code"))
            self.stats.errors[code] = self.stats.errors.get(code, 0) + 1
            ids = msg.get("ids") or []
            # Rejected ops are never stored or delivered: they leave the expected count.
            self.stats.counts["rejected"] += len(ids)
            board = self.spec.board
            self.stats.sent_by_board[board] = self.stats.sent_by_board.get(board, 0) - len(ids)
