"""
Catch-ups from a room's recent entries (Room.recent) against catch-ups from the log: on a bare
Room, no hub and no database, with the log a list of entry bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgpack
import pytest

from board.document import BoardState
from realtime.engine import catchup, store
from realtime.engine.delivery import Delivery, RecentEntries
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room, new_codec
from realtime.wire.frames import exact_entries, ops_frame_from_entries
from tests.support.ops import append, stroke


class Sink:
    """
    A peer's send queue that keeps what is pushed.
    """

    def __init__(self) -> None:
        self.frames: list[bytes | str] = []
        self.closed: int | None = None

    def push(self, frame: bytes | str) -> bool:
        self.frames.append(bytes(frame) if isinstance(frame, bytes) else frame)
        return True

    def close(self, code: int) -> None:
        self.closed = code


def _peer(room: Room, version: int = 1) -> tuple[Peer, Sink]:
    sink = Sink()
    limiter = RateLimiter.create(ops_per_sec=1, ops_burst=1, bytes_per_sec=1, bytes_burst=1)
    queue: Any = sink
    peer = Peer(room.board_id, "late-0001", None, "late", "editor", None, queue, limiter)
    peer.codec = new_codec(version, room.handles)
    return peer, sink


def _entry(seq: int, op: dict[str, Any], *, wide: bool = False) -> bytes:
    """
    A stored entry. `wide` packs its seq as a uint32 where msgpack would use one byte: a stored
    entry is whatever bytes the log holds, and a catch-up must forward exactly those.
    """
    body = {**op, "c": "writer-01", "u": 7}
    if not wide:
        return bytes(msgpack.packb({"s": seq, **body}))
    packed = msgpack.packb(body)
    head = 0x80 | (len(body) + 1)
    return bytes([head]) + msgpack.packb("s") + b"\xce" + seq.to_bytes(4, "big") + packed[1:]


def _log(n: int) -> list[bytes]:
    ops = [stroke(1, "e1")] + [append(i, "e1") for i in range(2, n + 1)]
    return [_entry(k + 1, op, wide=k % 7 == 3) for k, op in enumerate(ops)]


def _delivery(log: list[bytes], first: int, last: int, *, entries: bool) -> Delivery:
    chunk = log[first - 1 : last]
    frame = ops_frame_from_entries(chunk)
    return Delivery(first, last, frame, list(chunk) if entries else None)


def _room_delivering(log: list[bytes], cuts: list[tuple[int, int, bool]]) -> Room:
    """
    A room loaded at seq 0 that delivered the log in the given (first, last, with entries)
    pieces, offered in that order (overlaps are trimmed, frames ahead wait for the gap).
    """
    room = Room("b")
    room.load(BoardState(), 0, 0.0)
    for first, last, with_entries in cuts:
        room.offer(_delivery(log, first, last, entries=with_entries))
    return room


def _reader(log: list[bytes], calls: list[int]) -> catchup.ReadFn:
    async def read(fn: Any, board_id: str, after: int, upto: int | None = None) -> Any:
        assert fn is store.read_range
        calls.append(after)
        await asyncio.sleep(0)
        end = len(log) if upto is None else upto
        return [(seq, log[seq - 1]) for seq in range(after + 1, end + 1)]

    return read


#: Own commits (entries known), another process's batches (frames only), an overlap, a frame
#: that waited in the reorder buffer, and one of more than 15 entries (a uint16 array header).
CUTS = [
    (1, 3, True),
    (4, 9, False),
    (7, 12, False),
    (16, 20, True),
    (13, 15, False),
    (21, 45, False),
    (46, 46, True),
    (47, 50, False),
]


def _entries(sink: Sink) -> list[bytes]:
    """
    Every entry of the `ops` frames pushed, as the bytes sent.
    """
    out: list[bytes] = []
    for frame in sink.frames:
        if isinstance(frame, bytes):
            got = exact_entries(frame, len(msgpack.unpackb(frame)["ops"]))
            assert got is not None
            out += got
    return out


def _synced(sink: Sink) -> int:
    texts = [json.loads(f) for f in sink.frames if isinstance(f, str)]
    return int(next(t["seq"] for t in texts if t["type"] == "synced"))


@pytest.mark.parametrize("per_frame", [2000, 4])
async def test_a_catch_up_from_memory_is_byte_for_byte_the_one_from_the_log(
    settings: Any, per_frame: int
) -> None:
    settings.INKROOM = {**settings.INKROOM, "CATCHUP_FRAME_OPS": per_frame}
    log = _log(50)
    warm = _room_delivering(log, CUTS)
    assert warm.delivered_seq == 50 and (warm.recent.lo, warm.recent.hi) == (0, 50)
    for since in range(1, 51):
        peer, from_memory = _peer(warm)
        assert catchup.catch_up_now(warm, peer, since)
        cold = Room("b")
        cold.load(BoardState(), 0, 0.0)
        cold.delivered_seq = 50  # what the room delivered; nothing of it kept
        calls: list[int] = []
        peer, from_log = _peer(cold)
        await catchup.catch_up(cold, peer, since, _reader(log, calls))
        assert bool(calls) == (since < 50), "the cold room read the log for what it lacks"
        assert from_memory.frames == from_log.frames, since
        assert _entries(from_memory) == log[since:]
        assert _synced(from_memory) == 50


async def test_a_socket_behind_the_kept_entries_reads_the_log_which_extends_them() -> None:
    log = _log(300)
    room = Room("b")
    room.load(BoardState(), 0, 0.0)
    room.recent = RecentEntries(max_ops=150)
    room.offer(_delivery(log, 1, 200, entries=True))  # alone over the bound: not kept
    room.offer(_delivery(log, 201, 300, entries=False))
    assert (room.recent.lo, room.recent.hi) == (200, 300)
    peer, _ = _peer(room)
    assert not catchup.catch_up_now(room, peer, 160), "older than the kept entries"
    calls: list[int] = []
    peer, sink = _peer(room)
    await catchup.catch_up(room, peer, 160, _reader(log, calls))
    assert calls == [160 - catchup.RECENT_FILL_BACK_OPS]
    assert _entries(sink) == log[160:] and _synced(sink) == 300
    # The read extended the kept entries backwards, as far as the bound allows (150 ops).
    assert (room.recent.lo, room.recent.hi, room.recent.ops) == (150, 300, 150)
    for since, served in ((150, True), (149, False)):
        peer, sink = _peer(room)
        assert catchup.catch_up_now(room, peer, since) == served
        assert _entries(sink) == (log[since:] if served else [])


async def test_sockets_of_a_reconnect_wave_share_one_log_read() -> None:
    log = _log(80)
    room = _room_delivering(log, [(1, 80, True)])
    room.recent.clear(80)  # as after a load at 80: nothing before it kept
    calls: list[int] = []
    read = _reader(log, calls)
    sinks = []
    tasks = []
    for since in (70, 71, 70, 72, 75):
        peer, sink = _peer(room)
        sinks.append((since, sink))
        tasks.append(asyncio.ensure_future(catchup.catch_up(room, peer, since, read)))
    await asyncio.gather(*tasks)
    assert calls == [70 - catchup.RECENT_FILL_BACK_OPS]
    for since, sink in sinks:
        assert _entries(sink) == log[since:]
        assert _synced(sink) == 80


async def test_a_log_read_stops_at_what_the_room_delivered_so_live_frames_do_not_repeat() -> None:
    log = _log(30)
    room = _room_delivering(log, [(1, 20, True)])
    room.recent.clear(20)
    peer, sink = _peer(room)
    # The log holds 21..30 too: stored, not delivered to this room yet.
    await catchup.catch_up(room, peer, 10, _reader(log, []))
    assert _synced(sink) == 20
    for d in room.offer(_delivery(log, 21, 30, entries=False)):
        peer.send_live(d)
    assert _entries(sink) == log[10:]


async def test_frames_delivered_during_the_read_follow_without_gap_or_duplicate() -> None:
    log = _log(40)
    room = _room_delivering(log, [(1, 20, True)])
    room.recent.clear(20)
    peer, sink = _peer(room)

    async def read(fn: Any, board_id: str, after: int, upto: int | None = None) -> Any:
        # Deliveries made while the read runs are held for the catching-up peer.
        for d in room.offer(_delivery(log, 21, 25, entries=True)):
            peer.send_live(d)
        await asyncio.sleep(0)
        return [(s, log[s - 1]) for s in range(after + 1, 23)]  # the read saw up to 22

    await catchup.catch_up(room, peer, 5, read)
    assert _entries(sink) == log[5:25]
    assert _synced(sink) == 22


def test_exact_entries_are_slices_of_the_frame() -> None:
    log = _log(40)
    for n in (0, 1, 15, 16, 40):
        frame = ops_frame_from_entries(log[:n])
        assert exact_entries(frame, n) == log[:n]
    frame = ops_frame_from_entries(log[:5])
    assert exact_entries(frame, 4) is None
    assert exact_entries(frame + b"\xc0", 5) is None
    assert exact_entries(frame[:-1], 5) is None
    assert exact_entries(msgpack.packb({"ops": [], "t": "ops"}), 0) is None


def test_recent_entries_keep_their_bounds() -> None:
    log = _log(100)
    recent = RecentEntries(max_ops=30, max_bytes=10_000)
    for first in range(1, 101, 10):
        recent.add(_delivery(log, first, first + 9, entries=first % 20 == 1))
    assert (recent.lo, recent.hi, recent.ops) == (70, 100, 30)
    assert recent.rows_after(69, 100) is None
    assert recent.rows_after(70, 99) is None, "the room delivered more than was kept"
    assert recent.rows_after(100, 100) == []
    assert recent.rows_after(85, 100) == [(s, log[s - 1]) for s in range(86, 101)]
    small = RecentEntries(max_ops=1000, max_bytes=3 * len(ops_frame_from_entries(log[:10])))
    for first in range(1, 101, 10):
        small.add(_delivery(log, first, first + 9, entries=False))
    assert small.size <= small.max_bytes and small.hi == 100 and small.lo >= 70
    # A frame laid out otherwise (keys in another order) is not sliced: the log serves instead.
    alien = RecentEntries()
    alien.add(Delivery(1, 2, msgpack.packb({"ops": [{"s": 1}, {"s": 2}], "t": "ops"})))
    assert alien.rows_after(0, 2) is None and (alien.lo, alien.hi) == (2, 2)
