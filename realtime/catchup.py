"""
Catch-up: bringing one socket from the seq it has to live, with no gap and no duplicate.

The peer joins its room first (live frames are then held in Peer.held), then one read from the
log: the ops after `since`, or, when the client has nothing or is more than SNAPSHOT_CATCHUP_OPS
behind, a `snap` frame plus the ops after it. Frames are built by concatenating stored entry bytes
(no per-op decode), then `synced`, then the held live frames minus what the read already covered.
Used after `hello` and for every `resync`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from board.conf import app_settings
from board.exceptions import BoardNotFound
from realtime import metrics, store
from realtime.protocol import CloseCode, Synced, encode, ops_frame_from_entries
from realtime.room import Peer, Room
from realtime.sender import Bulk

logger = logging.getLogger(__name__)

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


async def _read(room: Room, since: int, read: ReadFn) -> tuple[bytes | None, int, Rows]:
    """
    Return (snap frame or None, seq it covers, rows after it).
    """
    head = room.delivered_seq
    far = since == 0 or since > head or head - since > app_settings.SNAPSHOT_CATCHUP_OPS
    if not far:
        return None, since, await read(store.read_range, room.board_id, since)
    if room.snapshot_current() and room.state is not None:
        # The live state is exact: encoding it beats replaying the log. Rows stored after it
        # (committed but not yet delivered) come from the log; the held frames cover the rest.
        frame, seq = store.encode_snap(room.state), room.delivered_seq
        return frame, seq, await read(store.read_range, room.board_id, seq)
    frame, seq, rows = await read(store.read_snapshot_catchup, room.board_id)
    return frame, seq, rows


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
    peer.catching_up, peer.held = False, []
    metrics.DB_LATENCY.observe(time.perf_counter() - started)
    logger.debug("board %s: %s caught up to %s", room.board_id, peer.client_id, sent)
