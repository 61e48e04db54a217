"""
Catch-up: bringing one socket from the seq it has to live, with no gap and no duplicate.

The peer joins its room first (live frames are then held in Peer.held). What it gets is the ops
after `since`, or, when the client has nothing or is more than SNAPSHOT_CATCHUP_OPS behind, a
`snap` frame plus the ops after it; frames are built by concatenating stored entry bytes (no
per-op decode), then `synced`, then the held live frames minus what was already sent. Used after
`hello` and for every `resync`.

The ops come from the room's recent entries (Room.recent: the log's tail as the room delivered
it) when they reach back to `since`: then the hub's join sends everything at once, on the loop,
without a reader thread or a query (catch_up_now). Otherwise one read from the log (catch_up);
its rows stop at the room's delivered seq, since rows stored but not yet delivered will come as
live frames, and it reads RECENT_FILL_BACK_OPS more than it needs to extend the recent entries
for the sockets behind it. Either way the socket gets exactly the log's entries from `since` to
the room's delivered seq, then the live frames after it.

`snap` frames are expensive to build for a big board (encoded on the event loop) and cheap to
keep, so the last one of each board is kept in SNAP_FRAMES and reused, followed
by the log's tail, while the board has moved on by at most store.SNAP_TAIL_MAX_OPS. The board at a
seq never changes (the log is append-only and board ids are never reused), so a kept frame is
right for any room of its board, whenever it was built: no invalidation is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from board.exceptions import BoardNotFound
from realtime import metrics
from realtime.conf import realtime_settings
from realtime.engine import store
from realtime.engine.room import Peer, Room
from realtime.engine.sender import Bulk
from realtime.wire.frames import encode_snap
from realtime.wire.protocol import CloseCode, Synced, encode

logger = logging.getLogger(__name__)

#: Bytes of `snap` frames kept per process: a dozen 50k-element boards, a small fraction of
#: what their live states take (a decoded element is many times its msgpack).
SNAP_FRAMES_MAX_BYTES = 64 * 1024 * 1024
#: A catch-up that reads the log reads this many ops more than it needs: they extend the room's
#: recent entries, so the sockets of a reconnect wave that are a little further behind are
#: served from memory too (they come back at once, about as far behind).
RECENT_FILL_BACK_OPS = 64

T = TypeVar("T")
ReadFn = Callable[..., Awaitable[Any]]


Rows = list[tuple[int, bytes]]


class SnapFrames:
    """
    The latest known `snap` frame of each recently caught-up board, least recently used first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._frames: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def get(self, board_id: str) -> tuple[int, bytes] | None:
        found = self._frames.get(board_id)
        if found is not None:
            self._frames.move_to_end(board_id)
        return found

    def put(self, board_id: str, seq: int, frame: bytes) -> None:
        """
        Keep `frame` (the board at `seq`) unless a newer one is kept already.
        """
        old = self._frames.get(board_id)
        if old is not None:
            if old[0] >= seq:
                return
            self.size -= len(old[1])
        self._frames[board_id] = (seq, frame)
        self._frames.move_to_end(board_id)
        self.size += len(frame)
        while self.size > self.max_bytes and self._frames:
            _, (_, dropped) = self._frames.popitem(last=False)
            self.size -= len(dropped)


SNAP_FRAMES = SnapFrames(SNAP_FRAMES_MAX_BYTES)


def _far(room: Room, since: int) -> bool:
    """
    True when the catch-up is a `snap` and the ops after it (protocol §4), not the ops after
    `since`.
    """
    head = room.delivered_seq
    return since == 0 or since > head or head - since > realtime_settings().snapshot_catchup_ops


def _from_memory(room: Room, since: int) -> tuple[bytes | None, int, Rows] | None:
    """
    (snap frame or None, seq it covers, rows after it) when the room has all of it in memory,
    else None. Rows end at the room's delivered seq, so the live frames that follow carry on
    exactly where they stop.
    """
    head = room.delivered_seq
    if not _far(room, since):
        rows = room.recent.rows_after(since, head)
        return None if rows is None else (None, since, rows)
    kept = SNAP_FRAMES.get(room.board_id)
    if kept is not None and head - kept[0] <= store.SNAP_TAIL_MAX_OPS:
        rows = room.recent.rows_after(kept[0], head) if kept[0] <= head else None
        return None if rows is None else (kept[1], kept[0], rows)
    if room.snapshot_current() and room.state is not None:
        # The live state is exact: encoding it beats replaying the log.
        frame = encode_snap(room.state)
        SNAP_FRAMES.put(room.board_id, head, frame)
        return frame, head, []
    return None


#: Log reads that are filling a room's recent entries: id(room) -> (seq read after, done).
_fills: dict[int, tuple[int, asyncio.Future[None]]] = {}


async def _read_filling(room: Room, after: int, read: ReadFn) -> Rows:
    """
    The log's rows after `after` up to the room's delivered seq; they also extend the room's
    recent entries backwards, and catch-ups that need no older rows wait for this read instead
    of making their own (a reconnect wave brings a board's sockets back at once, all about as far
    behind).
    """
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    key = id(room)
    _fills[key] = (after, done)
    try:
        rows: Rows = await read(store.read_range, room.board_id, after)
    finally:
        if _fills.get(key, (0, None))[1] is done:
            del _fills[key]
        done.set_result(None)
    head = room.delivered_seq
    if rows and rows[-1][0] > head:
        # Stored but not delivered to the room yet: they come as live frames, which would
        # repeat them after `synced` (protocol §4: no duplicate at the switch).
        rows = [r for r in rows if r[0] <= head]
    room.recent.fill(rows, head)
    return rows


async def _read(room: Room, since: int, read: ReadFn) -> tuple[bytes | None, int, Rows]:
    """
    Return (snap frame or None, seq it covers, rows after it).
    """
    for waited in (False, True):
        got = _from_memory(room, since)
        if got is not None:
            return got
        fill = _fills.get(id(room))
        if waited or fill is None or fill[0] > since or _far(room, since):
            break
        await asyncio.shield(fill[1])
    if not _far(room, since):
        rows = await _read_filling(room, max(0, since - RECENT_FILL_BACK_OPS), read)
        return None, since, [r for r in rows if r[0] > since]
    head = room.delivered_seq
    kept = SNAP_FRAMES.get(room.board_id)
    if kept is not None and head - kept[0] <= store.SNAP_TAIL_MAX_OPS:
        # Rows stored after it come from the log; the held frames cover the rest.
        seq, frame = kept
    elif room.snapshot_current() and room.state is not None:
        frame, seq = encode_snap(room.state), room.delivered_seq
    else:
        frame, seq, rows = await read(store.read_snapshot_catchup, room.board_id)
        SNAP_FRAMES.put(room.board_id, seq, frame)
        # A snap read from the log may be ahead of the room; rows up to it are in the snap.
        limit = max(seq, room.delivered_seq)
        return frame, seq, [r for r in rows if r[0] <= limit]
    SNAP_FRAMES.put(room.board_id, seq, frame)
    return frame, seq, await _read_filling(room, seq, read)


def _send(peer: Peer, snap: bytes | None, seq: int, rows: Rows) -> int:
    """
    Queue the catch-up, `synced`, then the held live frames minus what was sent; the peer is
    live from here on. Returns the last seq sent.
    """
    queue, codec = peer.send_queue, peer.codec
    if snap is not None:
        queue.push(Bulk(snap))
    for frame in codec.catch_up(rows, realtime_settings().catchup_frame_ops):
        queue.push(Bulk(frame))
    sent = max(seq, rows[-1][0]) if rows else seq
    queue.push(encode(Synced(seq=sent)))
    for delivery in peer.held:
        if delivery.last > sent:
            queue.push(delivery.after(sent))
            sent = delivery.last
    # The live stream starts here: what the codec needs to read it (v2: the handle table).
    for frame in codec.going_live():
        queue.push(frame)
    peer.catching_up, peer.held = False, []
    return sent


def catch_up_now(room: Room, peer: Peer, since: int) -> bool:
    """
    Send `peer` everything after `since`, then `synced`, then its held live frames, at once,
    when the room has all of it in memory (no reader thread, no query); False when it does not
    (start catch_up instead).
    """
    got = _from_memory(room, since)
    if got is None:
        return False
    sent = _send(peer, *got)
    logger.debug("board %s: %s caught up to %s from memory", room.board_id, peer.client_id, sent)
    return True


async def catch_up(room: Room, peer: Peer, since: int, read: ReadFn) -> None:
    """
    Send `peer` everything after `since`, then `synced`, then its held live frames.
    """
    started = time.perf_counter()
    peer.catching_up, peer.held = True, []
    try:
        snap, seq, rows = await _read(room, since, read)
    except asyncio.CancelledError:
        raise
    except BoardNotFound:
        peer.send_queue.close(CloseCode.NOT_FOUND)
        return
    except Exception:
        logger.exception("catch-up of board %s failed", room.board_id)
        peer.send_queue.close(CloseCode.SERVICE_RESTART)
        return
    sent = _send(peer, snap, seq, rows)
    metrics.DB_LATENCY.observe(time.perf_counter() - started)
    logger.debug("board %s: %s caught up to %s", room.board_id, peer.client_id, sent)
