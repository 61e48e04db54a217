"""
Tentative delivery: a room's checked ops sent to its opted-in local sockets before the commit.

The tick checks a room's pending ops against its state, then commits every room's ops in one
transaction and only then delivers them as log entries. A socket opened with `tentative=1`
(protocol §1, §2.6) also gets, right after the check, one `tent` frame of the room's accepted
ops: others see an op a commit earlier. Nothing else changes: authors are acknowledged by the
commit as before, other processes get committed entries only (tentatives never enter the
channel layer), and every op a socket was sent as tentative later reaches it as a log entry,
or in a `tdrop` frame (never committed as sent: the commit failed, or the op was a resend of
one already stored), or the socket is closed (a crash, a failed room), after which the client
drops every tentative it holds.

The `tent` frame is encoded once per room per tick, whatever the number of sockets, and the same
bytes go to v1 and v2 sockets alike: a compact form would have to advance the room's shared
handle table (realtime.wire.handles), which sockets that did not opt in would then miss. Sockets
opened with `tentative=2` (v2 only) share a handle table of their own instead, so they get the
batch as one DOWN_TENT frame, also encoded once per room per tick, and, when the commit stores
exactly that batch in order, a DOWN_PROMOTE of two varints in place of the entries
(realtime.wire.v2): each point crosses their wire once, compact.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from board.oplog import AppendResult
from realtime.engine.room import Peer, Room
from realtime.wire.tentative import TentBatch, tdrop_frame

Key = tuple[str, int]


def offer(room: Room, accepted: list[tuple[Peer, dict[str, Any]]]) -> list[Key] | None:
    """
    Send the room's accepted ops, not yet committed, to its live opted-in sockets as one `tent`
    frame; return their (author, op id) keys, or None when no socket was sent it.

    A socket still catching up is skipped: its live frames are held back until its catch-up
    ends, and a tentative ahead of them would not be "before the commit" for it. So is a
    `tentative=1` one whose own ops are all the frame holds (clients skip their own entries:
    they have them in their outbox); a `tentative=2` one is not, since its DOWN_TENT frames
    feed the handle table it shares and the DOWN_PROMOTE that acknowledges its ops.
    """
    room.tent_last = None
    if not accepted:
        return None
    batch: TentBatch | None = None
    only: str | None = accepted[0][0].client_id
    for peer, _ in accepted:
        if peer.client_id != only:
            only = None
            break
    for peer in room.peers.values():
        mode = peer.tentative
        if not mode or peer.catching_up or (mode == 1 and peer.client_id == only):
            continue
        if batch is None:
            batch = TentBatch([(p.client_id, p.user_id, op) for p, op in accepted])
        peer.send_queue.push(peer.codec.tentative(batch))
    if batch is None:
        return None
    room.tent_last = batch
    return [(peer.client_id, int(op["i"])) for peer, op in accepted]


def withdraw(room: Room, keys: Collection[Key]) -> None:
    """
    Tell the room's opted-in sockets that these tentative ops will not be committed as sent:
    one `tdrop` frame to each, caught up or not (one that asked to resync dropped them already,
    and a drop of an op it does not hold is a no-op).
    """
    if not keys:
        return
    frame = tdrop_frame(list(keys))
    for peer in room.peers.values():
        if peer.tentative:
            peer.send_queue.push(frame)


def uncommitted(offered: list[Key], res: AppendResult | None) -> list[Key]:
    """
    The offered keys the commit did not store as new entries: all of them when it stored nothing
    for the room (None, or the board is gone), else those it found stored already (resends,
    whose entries were delivered long ago) and any it did not take.
    """
    if res is None or res.missing:
        return offered
    acks, duplicates = res.acks, res.duplicates
    return [key for key in offered if key in duplicates or key not in acks]
