"""
A room's presence as frames: the whole `presence` list, and the delta since the list last sent.
"""

from __future__ import annotations

from realtime.cluster.presence import PresenceEntry
from realtime.engine.room import Room
from realtime.wire.protocol import Presence, PresenceDelta, encode


def presence_frame(room: Room, merged: list[PresenceEntry] | None = None) -> str:
    """
    The room's whole `presence` list as a frame (`merged`: the list, when already merged).
    """
    if merged is None:
        merged = room.presence.merged(room.local_presence())
    text: str = encode(Presence(clients=[dict(e) for e in merged]))  # type: ignore[assignment]
    return text


def presence_frames(room: Room) -> tuple[str | None, str | None]:
    """
    The room's presence as a whole list and as a delta from the last one sent, each only when
    one of its sockets takes that form; remembers the list as sent.

    A delta is the change, where a whole list per change to every socket makes presence grow
    with the square of the room.
    """
    merged = room.presence.merged(room.local_presence())
    now = {e["client_id"]: e for e in merged}
    last, room.presence_last = room.presence_last, now
    peers = room.peers.values()
    whole: str | None = None
    delta: str | None = None
    if any(not p.presence_delta for p in peers):
        whole = presence_frame(room, merged)
    if any(p.presence_delta for p in peers):
        changed = [dict(e) for cid, e in now.items() if last.get(cid) != e]
        gone = [cid for cid in last if cid not in now]
        if changed or gone:
            delta = str(encode(PresenceDelta(set=changed, gone=gone)))
    return whole, delta
