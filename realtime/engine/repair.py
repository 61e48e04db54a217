"""
Keeping each room equal to the log: gaps filled from it, heads checked, states reloaded.

The channel layer may drop or reorder batches, so a room delivers in seq order and a gap waits
GAP_WAIT_MS (less when too many frames wait behind it) before it is read from the log. The
upkeep compares every live board's head with what its room delivered, which also catches a lost
*last* batch, after which nothing would reveal the gap. A room whose state cannot vouch for the
log (a failed commit, a refusal it could not check) reloads it from the log.
"""

from __future__ import annotations

import asyncio
import logging

from realtime import metrics
from realtime.conf import realtime_settings
from realtime.engine import store
from realtime.engine.delivery import Delivery
from realtime.engine.ports import HubPort
from realtime.engine.room import REORDER_MAX_FRAMES, Room
from realtime.wire.frames import ops_frame_from_entries
from realtime.wire.protocol import CloseCode

logger = logging.getLogger(__name__)

#: Minimum time between two reloads of one inexact room's state (they cost a full board read).
REFRESH_MIN_SECS = 5.0
#: Back-off between attempts at a reload that must happen (the database is away meanwhile).
RELOAD_RETRY_SECS = 1.0


class Repair:
    """
    Gap fills, head checks and state reloads of one hub's rooms.
    """

    def __init__(self, hub: HubPort) -> None:
        self.hub = hub
        self._gap_tasks: dict[str, asyncio.Task[None]] = {}
        self._refreshed: dict[str, float] = {}

    # --- gaps --------------------------------------------------------------------------------

    def gap_noticed(self, room: Room) -> None:
        """
        Frames wait ahead of a gap: read it from the log after GAP_WAIT_MS (now if too many).
        """
        if room.board_id in self._gap_tasks:
            return
        if room.gap_since is None:
            room.gap_since = self.hub.clock()
            metrics.GAPS_DETECTED.inc()
        urgent = len(room.reorder) > REORDER_MAX_FRAMES
        wait = 0.0 if urgent else realtime_settings().gap_wait_ms / 1000
        deadline = self.hub.clock() + wait
        task = self.hub.spawn(self._fill_gap(room, deadline), "inkroom-gap")
        self._gap_tasks[room.board_id] = task
        task.add_done_callback(lambda _t: self._gap_tasks.pop(room.board_id, None))

    async def _fill_gap(self, room: Room, deadline: float) -> None:
        # On the hub's clock, from when the gap was noticed (not from when this task first runs).
        await self.hub.sleep(deadline - self.hub.clock())
        gap = room.gap_range()
        if gap is not None:
            metrics.LAYER_DROPS.inc()
            await self.fill(room, *gap)

    async def fill(self, room: Room, after: int, upto: int) -> None:
        """
        Read seqs after..upto from the log and deliver them in order.
        """
        if upto <= after:
            return
        try:
            rows = await self.hub.read(store.read_range, room.board_id, after, upto)
        except Exception:
            logger.exception("reading ops %s..%s of board %s failed", after, upto, room.board_id)
            return
        if rows and self.hub.rooms.get(room.board_id) is room:
            entries = [entry for _, entry in rows]
            frame = ops_frame_from_entries(entries)
            delivery = Delivery(rows[0][0], rows[-1][0], frame, entries)
            self.hub.deliver(room, room.offer(delivery))

    async def check_heads(self) -> None:
        """
        Compare every live board's head with what its room delivered (one query for all).
        """
        rooms = [r for r in self.hub.rooms.values() if r.ready]
        if not rooms:
            return
        heads = await self.hub.read(store.heads, [r.board_id for r in rooms])
        for room in rooms:
            head = heads.get(room.board_id, -1)
            if head < 0:
                self.hub.drop_room(room, CloseCode.NOT_FOUND)
            elif (
                head > room.delivered_seq
                and head == room.head_seen
                and room.board_id not in self._gap_tasks
            ):
                metrics.GAPS_DETECTED.inc()
                await self.fill(room, room.delivered_seq, head)
            room.head_seen = head

    # --- state reloads -----------------------------------------------------------------------

    def refresh_inexact(self, now: float) -> None:
        """
        Reload, at most every REFRESH_MIN_SECS, the rooms whose state is not exactly the log's.
        """
        for room in list(self.hub.rooms.values()):
            due = now - self._refreshed.get(room.board_id, 0.0) >= REFRESH_MIN_SECS
            if room.ready and not room.exact and not room.busy and not room.spec_ops and due:
                self._refreshed[room.board_id] = now
                self.hub.spawn(self._refresh(room), "inkroom-refresh")

    async def _reload(self, room: Room) -> None:
        """
        Replace the room's state with the log's, plus what is delivered while it is read;
        raises what the read raises.
        """
        room.begin_reload()
        try:
            state, _snap = await self.hub.read(store.load_state, room.board_id)
        except BaseException:
            room.abort_reload()
            raise
        room.finish_reload(state)

    async def _refresh(self, room: Room) -> None:
        room.busy = True
        try:
            await self._reload(room)
        except Exception:
            logger.exception("reloading board %s failed", room.board_id)
        finally:
            room.busy = False
            self.hub.work.set()

    def reload_now(self, room: Room) -> None:
        """
        Reload the state before checking anything else, retrying while the database is away and
        answering what waits meanwhile with `unavailable`: after a failed commit (the state
        holds ops the log does not, and resends would be refused as "already exists"), or after
        a refusal the state could not vouch for (it lacked ops the log had).
        """
        if not room.busy:
            room.busy = True
            self.hub.spawn(self._reload_until_done(room), "inkroom-reload")

    async def _reload_until_done(self, room: Room) -> None:
        while self.hub.rooms.get(room.board_id) is room:
            try:
                await self._reload(room)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("board %s: reloading its state failed; retrying", room.board_id)
                self.hub.refuse_pending(room)
                await asyncio.sleep(RELOAD_RETRY_SECS)
                continue
            break
        room.busy = False
        self.hub.work.set()
