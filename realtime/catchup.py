"""
Catch-up: bringing one socket from the seq it has to live, with no gap and no duplicate.

The peer joins its room first (live frames are then held in Peer.held), then one read from the
log: the ops after `since`, or, when the client has nothing or is more than SNAPSHOT_CATCHUP_OPS
behind, a `snap` frame plus the ops after it. Frames are built by concatenating stored entry bytes
(no per-op decode), then `synced`, then the held live frames minus what the read already covered.
Used after `hello` and for every `resync`.

`snap` frames are expensive to build for a big board (~35 ms to encode 50k elements, on the event
loop) and cheap to keep, so the last one of each board is kept in SNAP_FRAMES and reused, followed
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

from board.conf import app_settings
from board.exceptions import BoardNotFound
from realtime import metrics, store
from realtime.compact import encode_cont, encode_defs
from realtime.protocol import CloseCode, Synced, encode, ops_frame_from_entries
from realtime.room import Peer, Room
from realtime.sender import Bulk

logger = logging.getLogger(__name__)

#: Bytes of `snap` frames kept per process: a dozen 50k-element boards (~5 MB each), a small
#: fraction of what their live states take (a decoded element is ~10x its msgpack).
SNAP_FRAMES_MAX_BYTES = 64 * 1024 * 1024

T = TypeVar("T")
ReadFn = Callable[..., Awaitable[Any]]


def ops_frames(rows: list[tuple[int, bytes]], per_frame: int) -> list[bytes]:
    """
    `ops` frames of at most `per_frame` entries each, by concatenation.
    """
    return [
        ops_frame_from_entries([entry for _, entry in rows[k : k + per_frame]])
        for k in range(0, len(rows), per_frame)
    ]


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


async def _read(room: Room, since: int, read: ReadFn) -> tuple[bytes | None, int, Rows]:
    """
    Return (snap frame or None, seq it covers, rows after it).
    """
    head = room.delivered_seq
    far = since == 0 or since > head or head - since > app_settings.SNAPSHOT_CATCHUP_OPS
    if not far:
        return None, since, await read(store.read_range, room.board_id, since)
    kept = SNAP_FRAMES.get(room.board_id)
    if kept is not None and head - kept[0] <= store.SNAP_TAIL_MAX_OPS:
        # Rows stored after it (committed but maybe not yet delivered) come from the log; the
        # held frames cover the rest.
        seq, frame = kept
    elif room.snapshot_current() and room.state is not None:
        # The live state is exact: encoding it beats replaying the log.
        frame, seq = store.encode_snap(room.state), room.delivered_seq
    else:
        frame, seq, rows = await read(store.read_snapshot_catchup, room.board_id)
        SNAP_FRAMES.put(room.board_id, seq, frame)
        return frame, seq, rows
    SNAP_FRAMES.put(room.board_id, seq, frame)
    return frame, seq, await read(store.read_range, room.board_id, seq)


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
        peer.outbox.close(CloseCode.NOT_FOUND)
        return
    except Exception:
        logger.exception("catch-up of board %s failed", room.board_id)
        peer.outbox.close(CloseCode.SERVICE_RESTART)
        return
    outbox = peer.outbox
    if snap is not None:
        outbox.push(Bulk(snap))
    for frame in ops_frames(rows, app_settings.CATCHUP_FRAME_OPS):
        outbox.push(Bulk(frame))
    sent = max(seq, rows[-1][0]) if rows else seq
    outbox.push(encode(Synced(seq=sent)))
    for delivery in peer.held:
        if delivery.last > sent:
            outbox.push(delivery.after(sent))
            sent = delivery.last
    if peer.version >= 2 and len(room.handles):
        # The live stream starts here: from now on the peer gets every DOWN_OPS frame of the
        # room, so the table as it stands is all it needs (protocol §2.5, DEFS and CONT).
        outbox.push(encode_defs(room.handles.definitions()))
        if room.handles.conts:
            outbox.push(encode_cont(room.handles.continuations()))
    peer.catching_up, peer.held = False, []
    metrics.DB_LATENCY.observe(time.perf_counter() - started)
    logger.debug("board %s: %s caught up to %s", room.board_id, peer.client_id, sent)
