"""
One simulated board client: joins, draws strokes, and accounts for every op it receives.

Latency without distorting the wire: a sender writes the send time (µs on CLOCK_MONOTONIC) of
its op `i` into a shared-memory ring at `slot * ring + i % ring` before sending it; any
receiver, in any worker process, reads it back from the `(c, i)` of the entry it gets (Inkroom
entries carry the author's `client_id`, which encodes the slot). Ops therefore carry exactly
what a real client sends: a small increasing `i`, the element id and delta-encoded points.
The reference servers only relay frames, so there the sender adds `c` (its slot, a 1-2 byte
int) to each op.

Strokes are freehand (bench.strokes: a 120 Hz pointer, `points_per_op` samples per op). With
protocol 2 (docs/protocol.md §2.5) a stroke's `add` is an UP_ADD frame (the connection's first
names the style, later ones send "" for "the same style") and its `app` ops are UP_NEXT frames;
the server's DOWN_OPS entries (stroke adds as tag 2, appends as tag 1, anything else as v1
bytes) name authors by per-connection handles (defined inline in DOWN_OPS frames, or in DEFS
frames for a socket that missed them), and count exactly like the entries of a v1 `ops` frame
(authors' own entries are their acks, as in v1; an `add` is one point either way).

Receiving is the generator's main cost (each op reaches every client of its board), so it is
done per frame rather than per entry wherever the answer is the same. Every client of a board
gets the same `ops` frame bytes (the server encodes once per board per tick; relays forward
the sender's bytes), so a worker's `FrameDecoder` decodes each distinct payload once (a v2
DOWN_OPS payload once per distinct author handle map: bench.compact_rx), into
what the accounting needs: seq range, per-author op-id ranges, points and send times. Each
receiver then checks the frame against its own state in a few operations, and only a frame
that is not simply "the next seqs, every author's ops newer than seen" is walked entry by
entry, with the same rules. Every entry still counts towards delivered, duplicates and gaps
for every receiver, and every delivery's latency is recorded (Histogram.record_ends).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import cache
from time import monotonic_ns
from typing import Any

import msgpack

from bench.compact_rx import Handles, scan_cont, scan_defs, scan_down_ops
from bench.hist import Histogram, Starts
from bench.strokes import PenModel, StrokePool
from bench.wsclient import WsClient
from realtime.wire.compact import (
    DOWN_CONT,
    DOWN_DEFS,
    DOWN_OPS,
    DOWN_PROMOTE,
    DOWN_TENT,
    CompactError,
)
from tests.support.refclient import decode_promote, encode_up_add, encode_up_app, encode_up_next

#: Each stroke is one `add` then this many `app` ops (about 2 s of drawing at 30 Hz).
STROKE_APPS = 60
CLIENT_ID_PREFIX = "bench"
_STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
#: Distinct `ops` payloads a decoder remembers before starting afresh: far more than one
#: tick's frames, which all receivers in a worker read within milliseconds of each other.
DECODER_CACHE_FRAMES = 4096


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


@cache
def default_pool(points: int) -> StrokePool:
    """
    The freehand strokes of a process's drawers (120 Hz pointer), drawn on first use.
    """
    return StrokePool(PenModel(), points)


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
                "defs_frames_in",
                "defs_bytes_in",
                "tentative",
                "confirmed",
                "tentative_dropped",
            ),
            0,
        )
        self.errors: dict[str, int] = {}
        self.closes: dict[str, int] = {}


class OpsFrame:
    """
    One decoded `ops` frame: what every receiver's accounting reads, and nothing else.
    """

    __slots__ = (
        "entries",
        "first",
        "n",
        "own",
        "points",
        "promoted",
        "ranges",
        "regular",
        "starts",
        "tentative",
    )

    def __init__(self, entries: list[tuple[int | None, int, int, int, int]]) -> None:
        #: (seq or None, author slot or -1 if foreign, op id, points, send time µs) per entry.
        self.entries = entries
        self.n = len(entries)
        self.points = sum(e[3] for e in entries)
        self.starts = Starts([e[4] for e in entries])
        seqs = [e[0] for e in entries]
        #: Seq of the first entry, or None when the entries carry none (relay mode).
        self.first = seqs[0] if seqs and seqs[0] is not None else None
        ranges: dict[int, list[int]] = {}
        own: dict[int, list[tuple[int, int]]] = {}
        increasing = True
        for _seq, slot, i, _points, sent in entries:
            got = ranges.get(slot)
            if got is None:
                ranges[slot] = [i, i]
            elif i > got[1]:
                got[1] = i
            else:
                increasing = False
            own.setdefault(slot, []).append((i, sent))
        #: (slot, lowest op id, highest op id) per author.
        self.ranges = tuple((slot, lo, hi) for slot, (lo, hi) in ranges.items())
        #: Each author's (op id, send time) pairs, for the author's ack.
        self.own = {slot: tuple(pairs) for slot, pairs in own.items()}
        if self.first is None:
            in_order = all(seq is None for seq in seqs)
        else:
            in_order = seqs == list(range(self.first, self.first + self.n))
        #: The per-frame path applies: seqs contiguous (or absent), no foreign entry, each
        #: author's op ids increasing. Otherwise receivers walk `entries`.
        self.regular = bool(entries) and in_order and increasing and -1 not in ranges
        #: A `tent` or DOWN_TENT frame (protocol §2.6): ops before their commit, no seqs.
        self.tentative = False
        #: A DOWN_TENT frame's entries as log entries from each first seq a DOWN_PROMOTE gave.
        self.promoted: dict[int, OpsFrame] = {}

    def promote(self, first: int, n: int) -> OpsFrame:
        """
        The entries a DOWN_PROMOTE of this DOWN_TENT's ops from seq `first` stands for (built
        once per worker: its clients share the decoded DOWN_TENT).
        """
        if n != self.n:
            raise CompactError(f"DOWN_PROMOTE of {n} ops, the batch holds {self.n}")
        got = self.promoted.get(first)
        if got is None:
            got = self.promoted[first] = OpsFrame(
                [(first + k, *e[1:]) for k, e in enumerate(self.entries)]
            )
        return got


class FrameDecoder:
    """
    Decodes each distinct `ops` or DOWN_OPS payload once for all the clients of one worker.

    v1 `ops` payloads are keyed by their bytes alone. A v2 DOWN_OPS payload names authors by
    per-connection handles, so it is decoded once per distinct author map (`Handles`, interned
    here: connections whose maps agree share one object and its cache).
    """

    def __init__(self, ring: memoryview, ring_size: int) -> None:
        self.ring = ring
        self.ring_size = ring_size
        self.frames: dict[bytes, OpsFrame] = {}
        self._slot_cache: dict[Any, int] = {}
        #: Every author map a DEFS or CONT frame or inline definitions led to, by content; a new
        #: connection starts with the empty one.
        self.maps: dict[Any, Handles] = {}
        self.no_handles = self._intern({}, {})
        self._down_cached = 0

    def decode(self, payload: bytes, entries: list[dict[str, Any]]) -> OpsFrame:
        """
        Build (and remember) the OpsFrame of an `ops` payload whose entries are decoded.
        """
        rows: list[tuple[int | None, int, int, int]] = []
        for entry in entries:
            slot = self._slot(entry.get("c"))
            if slot < 0:
                rows.append((entry.get("s"), -1, 0, 0))
                continue
            pts = entry.get("p")
            rows.append((entry.get("s"), slot, entry["i"], len(pts) // 2 if pts else 1))
        frame = self._frame(rows)
        frames = self.frames
        if len(frames) >= DECODER_CACHE_FRAMES:
            frames.clear()
        frames[payload] = frame
        return frame

    def decode_down(self, payload: bytes, handles: Handles) -> tuple[OpsFrame, Handles]:
        """
        Return (and remember under `handles`) the OpsFrame of a DOWN_OPS payload received with
        the author map `handles`, and the map its inline definitions lead to.
        """
        first, defs, scanned = scan_down_ops(payload)
        after = self._define(handles, defs) if defs else handles
        slots = after.slots
        slot_of = self._slot
        last: dict[int, int] | None = None
        rows: list[tuple[int | None, int, int, int]] = []
        for k, (is_handle, author, op_id, points) in enumerate(scanned):
            seq = None if first is None else first + k
            if is_handle:
                if last is None:
                    last = dict(after.last)
                if op_id is None:  # tag 3: the author's previous stroke entry + 1
                    if author not in last:
                        raise CompactError(f"no stroke entry to continue for handle {author}")
                    op_id = last[author] + 1
                last[author] = op_id
                # An author handle this connection has no definition for counts as foreign.
                slot = slots.get(author, -1)
            else:
                slot = slot_of(author)
            i = op_id or 0
            rows.append((seq, slot, i, points) if slot >= 0 else (seq, -1, 0, 0))
        if last is not None:
            after = self._intern(slots, last)  # the continuations moved on
        frame = self._frame(rows)
        frame.tentative = first is None
        if self._down_cached >= DECODER_CACHE_FRAMES:
            for known in self.maps.values():
                known.frames.clear()
                known.after.clear()
            # Continuations make a new map almost every frame: forget them too (a connection
            # keeps its own, and its next one is interned again).
            self.maps = {self.no_handles.key(): self.no_handles}
            self._down_cached = 0
        handles.frames[payload] = (frame, after)
        self._down_cached += 1
        return frame, after

    def apply_defs(self, handles: Handles, payload: bytes) -> Handles:
        """
        Return the author map a DEFS or CONT payload turns `handles` into (and remember the
        step).
        """
        if payload[0] == DOWN_CONT:
            last = dict(handles.last)
            last.update(scan_cont(payload))
            after = self._intern(handles.slots, last)
        else:
            after = self._define(handles, scan_defs(payload))
        handles.after[payload] = after
        return after

    def _define(self, handles: Handles, defs: list[tuple[int, str]]) -> Handles:
        slots, last = dict(handles.slots), dict(handles.last)
        for handle, name in defs:
            slot = self._slot(name)
            last.pop(handle, None)  # a definition clears the handle's continuation
            # A redefinition replaces (the server recycles handles): a handle that now names
            # an element is no author.
            if slot >= 0:
                slots[handle] = slot
            else:
                slots.pop(handle, None)
        return self._intern(slots, last)

    def _intern(self, slots: dict[int, int], last: dict[int, int]) -> Handles:
        key = tuple(sorted(slots.items())), tuple(sorted(last.items()))
        got = self.maps.get(key)
        if got is None:
            got = self.maps[key] = Handles(slots, last)
        return got

    def _frame(self, rows: list[tuple[int | None, int, int, int]]) -> OpsFrame:
        ring = self.ring
        size = self.ring_size
        mask = size - 1
        # The send time never changes once the op is sent (until the ring wraps after
        # RING_SECS): reading it now gives what each receiver would read later.
        return OpsFrame(
            [
                (seq, slot, i, points, ring[slot * size + (i & mask)] if slot >= 0 else 0)
                for seq, slot, i, points in rows
            ]
        )

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
        decoder: FrameDecoder | None = None,
        *,
        protocol: int = 2,
        strokes: StrokePool | None = None,
    ) -> None:
        self.spec = spec
        self.stats = stats
        self.ring = ring
        self.mask = ring_size - 1
        self.base = spec.slot * ring_size
        self.mode = mode
        self.points_per_op = points_per_op
        self.ws = WsClient(self.on_message, offer_deflate=offer_deflate)
        #: Share one decoder between the clients of a worker: each payload is decoded once.
        self.decoder = decoder or FrameDecoder(ring, ring_size)
        self.frames = self.decoder.frames
        #: This connection's author handles (v2), shared with every connection that agrees.
        self.handles = self.decoder.no_handles
        #: Send `add` ops as UP_ADD and `app` ops as UP_NEXT frames (v2; UP_APP if an op id
        #: was skipped). Relays forward v1 frames with our `c` in them.
        self.compact = protocol == 2 and mode == "inkroom"
        #: v2: this connection has sent an UP_ADD with its style; later ones send "" (§2.5).
        self.style_sent = False
        #: v2: the id of the last op sent on this connection (what UP_NEXT numbers after).
        self.last_i: int | None = None
        #: `tentative=2`: the last DOWN_TENT's frame, until a frame of entries (§2.6, the batch).
        self.batch: OpsFrame | None = None
        self.strokes = strokes or default_pool(STROKE_APPS * points_per_op)
        #: Highest op id seen per author slot (as a tentative or an entry).
        self.hwm: dict[int, int] = {}
        #: Highest op id seen in a committed entry per author slot, once tentatives arrive
        #: (protocol §2.6); None until the first.
        self.chwm: dict[int, int] | None = None
        #: The slot whose entries are our own (acks); -1 matches none (relay mode).
        self.own_slot = spec.slot if mode == "inkroom" else -1
        #: Highest own op id acknowledged (by an `ack` frame or by our own entry).
        self.ack_hwm = 0
        self.last_seq = 0
        self.synced = self.ws.opened.get_loop().create_future()
        self.next_i = 1
        self.stroke_left = 0
        self.stroke_n = 0
        self.stroke_p: list[int] = []
        self.rng = random.Random(spec.slot)
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
        # "" in UP_ADD refers to this connection's previous style, and UP_NEXT to its last op: a
        # new connection names both again.
        self.style_sent = False
        self.last_i = None
        self.batch = None
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
            # Deterministic per (slot, stroke): the same run draws the same strokes.
            self.stroke_p = self.strokes.get(self.spec.slot * 7919 + self.stroke_n)[0]
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
            n = self.points_per_op
            at = 2 * n * (STROKE_APPS - self.stroke_left)
            self.stroke_left -= 1
            pts = self.stroke_p[at : at + 2 * n]
            op = {"i": i, "k": "app", "id": self.element, "p": pts}
            points = n
        if self.compact:
            if op["k"] == "add":
                # The `add`: it makes the element the connection's current stroke (§2.5).
                el = op["el"]
                style = None if self.style_sent else _STYLE
                self.style_sent = True
                frame = encode_up_add(i, el["id"], el["x"], el["y"], style, el["p"])
            elif self.last_i == i - 1:
                frame = encode_up_next(op["p"])  # numbered after the op before it (§2.5)
            else:
                frame = encode_up_app(i, op["p"])
            self.last_i = i
        else:
            if self.mode != "inkroom":
                op["c"] = self.spec.slot
            frame = msgpack.packb({"t": "ops", "ops": [op]})
        self.ring[self.base + (i & self.mask)] = monotonic_ns() // 1000
        return frame, points

    def on_message(self, ws: WsClient, is_text: bool, payload: bytes, now_ns: int) -> None:
        if is_text:
            self._on_text(json.loads(payload))
            return
        # v1 frames are msgpack maps (0x80-0x8f, 0xde, 0xdf); v2 adds 0x02, 0x03 and 0x06, and
        # `tentative=2` 0x07 and 0x08.
        kind = payload[0]
        if kind in (DOWN_OPS, DOWN_TENT):
            got = self.handles.frames.get(payload)
            if got is None:
                got = self.decoder.decode_down(payload, self.handles)
            frame, self.handles = got
            self.batch = frame if kind == DOWN_TENT else None
        elif kind == DOWN_PROMOTE:
            batch, self.batch = self.batch, None
            if batch is None:
                return  # after a resync (the bench sends none): the catch-up brings them
            frame = batch.promote(*decode_promote(payload))
        elif kind in (DOWN_DEFS, DOWN_CONT):
            self._on_defs(payload)
            return
        else:
            frame = self.frames.get(payload)
            if frame is None:
                msg = msgpack.unpackb(payload)
                kind = msg.get("t")
                if kind == "ack":
                    self._on_ack(msg["a"], now_ns // 1000)
                    return
                if kind == "tdrop":
                    self.stats.counts["tentative_dropped"] += len(msg["ops"])
                    return
                if kind == "snap":
                    self.batch = None
                if kind not in ("ops", "tent"):
                    return
                frame = self.decoder.decode(payload, msg["ops"])
                frame.tentative = kind == "tent"
            if not frame.tentative:
                self.batch = None
        if self.counting:
            counts = self.stats.counts
            counts["ops_frames_in"] += 1
            # Wire bytes: payload plus the server's unmasked frame header.
            n = len(payload)
            counts["ops_bytes_in"] += n + (2 if n < 126 else 4 if n < 65536 else 10)
        self._on_ops(frame, now_ns // 1000)

    def _on_defs(self, payload: bytes) -> None:
        handles = self.handles.after.get(payload)
        if handles is None:
            handles = self.decoder.apply_defs(self.handles, payload)
        self.handles = handles
        if self.counting:
            # Handle definitions are what v2 pays for its small entries: count them as down
            # bytes of the ops they serve (the wire-size target is per point delivered).
            counts = self.stats.counts
            n = len(payload)
            wire = n + (2 if n < 126 else 4 if n < 65536 else 10)
            counts["defs_frames_in"] += 1
            counts["defs_bytes_in"] += wire
            counts["ops_bytes_in"] += wire

    def _on_ops(self, frame: OpsFrame, now_us: int) -> None:
        if frame.tentative:
            self._on_tentative(frame, now_us)
            return
        if self.chwm is not None and self._all_confirmed(frame):
            return
        first = frame.first
        last_seq = self.last_seq
        if frame.regular and (
            first is None or first == last_seq + 1 or (last_seq == 0 and first > 0)
        ):
            hwm = self.hwm
            get = hwm.get
            for slot, lo, _hi in frame.ranges:
                if lo <= get(slot, 0):
                    break
            else:
                # Every entry is new: the outcome of the per-entry rules, per frame.
                chwm = self.chwm
                for slot, _lo, hi in frame.ranges:
                    hwm[slot] = hi
                    if chwm is not None:
                        chwm[slot] = hi
                if first is not None:
                    self.last_seq = first + frame.n - 1
                stats = self.stats
                counts = stats.counts
                counts["delivered"] += frame.n
                counts["points_delivered"] += frame.points
                stats.latency.record_ends(now_us, frame.starts)
                own = frame.own.get(self.own_slot)
                if own is not None:
                    self._own_acks(own, now_us)
                return
        self._on_entries(frame, now_us)

    def _on_tentative(self, frame: OpsFrame, now_us: int) -> None:
        """
        Count others' ops delivered when their tentative arrives (their entry confirms them).
        """
        if self.chwm is None:
            # From now on committed entries are told apart from tentatives seen before them.
            self.chwm = dict(self.hwm)
        stats = self.stats
        counts = stats.counts
        hwm = self.hwm
        own = self.own_slot
        for _seq, slot, i, points, sent in frame.entries:
            if slot < 0 or slot == own or i <= hwm.get(slot, 0):
                continue
            hwm[slot] = i
            counts["delivered"] += 1
            counts["tentative"] += 1
            counts["points_delivered"] += points
            stats.latency.record(now_us - sent)

    def _all_confirmed(self, frame: OpsFrame) -> bool:
        """
        A committed frame whose every entry confirms a tentative already counted: count it per
        frame (the common case once tentatives flow); False to take the other paths.
        """
        chwm = self.chwm
        assert chwm is not None
        first = frame.first
        if not frame.regular or first is None or first != self.last_seq + 1:
            return False
        hwm = self.hwm
        for slot, lo, hi in frame.ranges:
            if lo <= chwm.get(slot, 0) or hi > hwm.get(slot, 0) or slot == self.own_slot:
                return False
        for slot, _lo, hi in frame.ranges:
            chwm[slot] = hi
        self.last_seq = first + frame.n - 1
        self.stats.counts["confirmed"] += frame.n
        return True

    def _on_entries(self, frame: OpsFrame, now_us: int) -> None:
        """
        Account for a frame entry by entry (overlaps, gaps, foreign or out-of-order entries).
        """
        stats = self.stats
        counts = stats.counts
        record = stats.latency.record
        hwm = self.hwm
        for seq, slot, i, points, sent in frame.entries:
            if seq is not None:
                if seq <= self.last_seq:
                    counts["duplicates"] += 1
                    continue
                if seq > self.last_seq + 1 and self.last_seq:
                    counts["seq_gaps"] += 1
                self.last_seq = seq
            if slot < 0:
                counts["foreign_entries"] += 1
                continue
            chwm = self.chwm
            if chwm is not None:
                # Tentatives flow: an entry is a duplicate only if a committed one came before.
                if i <= chwm.get(slot, 0):
                    counts["duplicates"] += 1
                    continue
                chwm[slot] = i
                if i <= hwm.get(slot, 0):
                    counts["confirmed"] += 1
                    continue
            elif i <= hwm.get(slot, 0):
                counts["duplicates"] += 1
                continue
            hwm[slot] = i
            counts["delivered"] += 1
            counts["points_delivered"] += points
            record(now_us - sent)
            if slot == self.own_slot:
                self._own_acks(((i, sent),), now_us)

    def _own_acks(self, own: tuple[tuple[int, int], ...], now_us: int) -> None:
        # Our own entry is our ack (protocol §2.2): ack latency = until we see it.
        for i, sent in own:
            if i > self.ack_hwm:
                self.ack_hwm = i
                self.stats.counts["acked"] += 1
                self.stats.ack.record(now_us - sent)

    def _on_ack(self, pairs: list[list[int]], now_us: int) -> None:
        # `ack` frames now come only for resends and catch-ups; count each op once either way.
        stats = self.stats
        for i, _seq in pairs:
            if i <= self.ack_hwm:
                continue
            self.ack_hwm = i
            stats.counts["acked"] += 1
            stats.ack.record(now_us - self.ring[self.base + (i & self.mask)])

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
