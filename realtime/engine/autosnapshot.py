"""
Automatic snapshots of live boards, one at a time for the whole process.

A board is due by board.snapshots.should_snapshot (ops and time since its last snapshot). A small
board is encoded from its live state on the event loop; a bigger one is materialised from the
log in a reader thread. One at a time: each replays up to SNAPSHOT_EVERY_OPS ops while holding
the GIL against the event loop and the writer, and queued behind each other they would delay the
catch-ups and gap fills that share the reader threads.
"""

from __future__ import annotations

import logging

from board.snapshots import encode_snapshot, should_snapshot
from realtime.engine import store
from realtime.engine.ports import HubPort
from realtime.engine.room import Room

logger = logging.getLogger(__name__)

#: A board at most this big is encoded from its live state, on the event loop (a few
#: milliseconds at the bound); a bigger one is materialised in a reader thread instead, from
#: the previous snapshot and up to SNAPSHOT_EVERY_OPS ops.
LIVE_SNAPSHOT_MAX_POINTS = 100_000
LIVE_SNAPSHOT_MAX_ELEMENTS = 1000


def live_snapshot(room: Room) -> tuple[int, bytes, int] | None:
    """
    (seq, encoded snapshot, element count) of the room's live state, or None when the state is
    not exactly the board at a seq, not built yet, or too big to encode on the event loop.
    """
    state = room.state
    if state is None or state.is_deferred or not room.snapshot_current():
        return None
    if state.seq != room.delivered_seq or state.element_count > LIVE_SNAPSHOT_MAX_ELEMENTS:
        return None
    if state.total_points > LIVE_SNAPSHOT_MAX_POINTS:
        return None
    return state.seq, encode_snapshot(state), state.element_count


class AutoSnapshots:
    """
    The automatic snapshots of one hub's rooms.
    """

    def __init__(self, hub: HubPort) -> None:
        self.hub = hub
        self._snapshotting: set[str] = set()

    def maybe_snapshot(self) -> None:
        """
        Start the snapshot of one due board (stored or materialised in a reader thread), unless
        one is running.
        """
        if self._snapshotting:
            return
        now = self.hub.clock()
        for room in self.hub.rooms.values():
            if room.board_id in self._snapshotting or not room.ready:
                continue
            if should_snapshot(room.applied_seq - room.snapshot_seq, now - room.snapshot_at):
                # Encoded now, between ticks: once the task runs, the next tick may have
                # applied its ops to the state before their commit, and it is no longer exact.
                live = live_snapshot(room)
                self._snapshotting.add(room.board_id)
                self.hub.spawn(self._snapshot(room, live), "inkroom-snapshot")
                return

    async def _snapshot(self, room: Room, live: tuple[int, bytes, int] | None) -> None:
        try:
            if live is not None:
                seq = await self.hub.read(store.store_live_snapshot, room.board_id, *live)
            else:
                seq = await self.hub.read(store.take_snapshot, room.board_id)
            if seq >= 0:
                room.snapshot_seq = seq
                room.snapshot_at = self.hub.clock()
        except Exception:
            logger.exception("automatic snapshot of board %s failed", room.board_id)
        finally:
            self._snapshotting.discard(room.board_id)
