"""
The hub's tick: when ops are pending, sequence and store every board's ops.

A tick with ops starts at once while the process is lightly loaded and at most every TICK_MS
under load (realtime.engine.pacing); cursors go out at most once per TICK_MS.

One tick = check each room's pending ops against its state (in order; accepted ops are applied
so later ones see them) → the accepted ops as one `tent` frame to the room's opted-in local
sockets (realtime.engine.tentative) → ONE append_batches call for all boards in the writer
thread → acks to authors; `tdrop` for any tentative not stored as new → each board's `ops` frame
(built once, by concatenating the stored entries) to its local sockets → ONE channel-layer
message for the whole process. Ops that arrive while a batch is in
flight wait for the next tick (group commit): batching adapts to the database's speed by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from board.oplog import AppendResult, Submission
from realtime import metrics
from realtime.cluster.pods import Pods
from realtime.conf import realtime_settings
from realtime.engine import decisions as engine
from realtime.engine import store, tentative
from realtime.engine.autosnapshot import AutoSnapshots
from realtime.engine.decisions import Accepted, Checked
from realtime.engine.delivery import Delivery
from realtime.engine.pacing import TickPacer
from realtime.engine.ports import HubPort
from realtime.engine.repair import Repair
from realtime.engine.room import Peer, Room
from realtime.wire.frames import ops_frame_from_entries
from realtime.wire.protocol import Ack, CloseCode, encode

logger = logging.getLogger(__name__)


class Ticker:
    """
    The tick loop of one hub.
    """

    def __init__(self, hub: HubPort, pods: Pods, repair: Repair, snapshots: AutoSnapshots) -> None:
        self.hub = hub
        self.pods = pods
        self.repair = repair
        self.snapshots = snapshots
        self.pacer = TickPacer(realtime_settings().tick_ms / 1000)

    async def run(self) -> None:
        hub = self.hub
        #: A tick that held cursors back owes a full one.
        owed = False
        while True:
            await self._until_due(owed)
            full = self.pacer.start(self._now())
            owed = not full
            try:
                async with hub.tick_lock:
                    await self.tick(full=full)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tick failed; carrying on")

    async def _until_due(self, owed: bool) -> None:
        """
        Wait until the pacer lets the next tick start for the work there is (docs/architecture.md,
        "The hub and the tick").
        """
        hub, pacer = self.hub, self.pacer
        while True:
            settings = realtime_settings()
            pacer.tick_secs, pacer.light = settings.tick_ms / 1000, settings.flush_idle_cpu
            now = self._now()
            pacer.sample(now, time.process_time())
            other = owed or hub.work.is_set()
            hub.work.clear()
            wait = pacer.delay(now, ops=self._checkable(), other=other)
            if wait == 0:
                return
            owed = other
            try:
                await asyncio.wait_for(hub.work.wait(), wait)
            except TimeoutError:
                return

    @staticmethod
    def _now() -> float:
        # The loop's clock, not the hub's: pacing is about real time and real CPU (a test's fake
        # hub clock does not move while the loop sleeps).
        return asyncio.get_running_loop().time()

    async def flush(self) -> None:
        """
        Commit what is pending now (used by drain, after sockets stopped being read).

        Sockets are not read while draining, so pending ops only shrink: usually one tick after
        the one in flight (waited for through tick_lock). A room still loading or reloading its
        state cannot be checked yet: wait a tick for it rather than spin (drain bounds the wait).
        """
        while self._pending():
            async with self.hub.tick_lock:
                await self.tick()
            if self._pending():
                await asyncio.sleep(realtime_settings().tick_ms / 1000)

    def _pending(self) -> bool:
        return any(r.pending or r.spec_ops for r in self.hub.rooms.values())

    def _checkable(self) -> bool:
        # What a tick would take: ops of a room still loading wait for its load, which wakes
        # the loop when it is done.
        return any(_checkable(room) for room in self.hub.rooms.values())

    async def tick(self, *, full: bool = True) -> None:
        """
        Cursors (in a full tick) and presence first, then take and check each room's pending ops,
        commit them all.

        Pending ops are taken off their queues only right before the commit, and each room is
        checked on its own: whatever fails (one room's check, one socket's send, one board's
        fan-out) every op taken ends committed and acknowledged, or answered `unavailable`.
        """
        hub = self.hub
        hub.counts.flush()
        cursors = self._cursors() if full else {}
        presence = self.pods.presence_changes()
        checked: dict[str, Checked] = {}
        for room in list(hub.rooms.values()):
            if _checkable(room):
                checked[room.board_id] = self._check(room)
        published: dict[str, list[Any]] = {}
        if checked:
            published = await self._commit(checked)
        self.pods.publish(published, presence, cursors)
        self.snapshots.maybe_snapshot()

    def _check(self, room: Room) -> Checked:
        checked = engine.check_pending(room, self.hub.limits)
        for peer in checked.poisoned:
            self.hub.close_peer(peer, CloseCode.INTERNAL_ERROR)
        self._answer(checked.answers)
        try:
            checked.offered = tentative.offer(room, checked.accepted)
        except Exception:
            # Nothing offered is lost: the ops are committed and delivered as entries all the
            # same; the room's sockets reconnect and drop whatever tentatives they hold.
            logger.exception("board %s: sending tentatives failed", room.board_id)
            self.hub.fail_room(room)
        return checked

    def _answer(self, answers: list[engine.Answer]) -> None:
        for a in answers:
            self.hub.error(a.peer, a.code, a.message, a.ids, a.field)

    async def _commit(self, checked: dict[str, Checked]) -> dict[str, list[Any]]:
        hub = self.hub
        batches = {
            board: [Submission(p.client_id, p.user_id, op) for p, op in c.accepted]
            for board, c in checked.items()
            if c.accepted
        }
        suspects = [key for c in checked.values() for key in c.lookups()]
        started = time.perf_counter()
        try:
            result = await hub.write(store.commit_tick, batches, suspects)
        except Exception:
            logger.exception("op batch of %s boards not stored", len(batches))
            self._unavailable(checked)
            return {}
        committed = time.perf_counter()
        metrics.DB_LATENCY.observe(committed - started)
        acks: dict[Peer, list[tuple[int, int]]] = defaultdict(list)
        answers: list[engine.Answer] = []
        published: dict[str, list[Any]] = {}
        stored = 0
        for board, c in checked.items():
            res = result.results.get(board)
            try:
                if c.offered:
                    tentative.withdraw(c.room, tentative.uncommitted(c.offered, res))
                if res is not None and hub.rooms.get(board) is c.room:
                    stored += len(res.entries)
                    frame = self._committed(c.room, res, c.accepted, bool(c.offered))
                    if frame is not None:
                        published[board] = [res.first_seq, res.last_seq, frame]
                    _acks_owed(c.accepted, res, acks)
                    self._taken(c.room, engine.taken_ids(c.accepted, res), answers)
                self._settle_refused(c, res, result, acks, answers)
            except Exception:
                # Stored, so not lost: the room's sockets reconnect, catch up and have their
                # resends acknowledged as duplicates.
                logger.exception("board %s: settling a committed tick failed", board)
                hub.fail_room(c.room)
        for peer, pairs in acks.items():
            peer.send_queue.push(encode(Ack(a=pairs)))
        # After the acks: told `client_id_taken`, a client moves every op still unacknowledged
        # to a fresh id, and one acknowledged only after that would be stored twice.
        self._answer(answers)
        metrics.BATCH_SIZE.observe(stored)
        metrics.FANOUT_LATENCY.observe(time.perf_counter() - committed)
        return published

    def _committed(
        self, room: Room, res: AppendResult, ops: Accepted, offered: bool
    ) -> bytes | None:
        """
        Settle the room's state after its commit and deliver the frame; return the frame.

        When the ops went out as tentatives (`offered`), the entries only confirm them to the
        opted-in sockets that are not their authors: they go lazily (Hub.deliver).
        """
        if res.missing:
            room.spec_ops = 0
            self.hub.drop_room(room, CloseCode.NOT_FOUND)
            return None
        clean = not res.duplicates and len(res.entries) == len(ops)
        room.committed(res.first_seq, res.last_seq, clean)
        if not res.entries:
            return None
        frame = ops_frame_from_entries(res.entries)
        delivery = Delivery(res.first_seq, res.last_seq, frame, res.entries, applied=True)
        if clean:  # the entries are the ops, in order: the tick's tentative batch, if one went
            delivery.authored = [(peer.client_id, op) for peer, op in ops]
            delivery.promote = room.tent_last
        if offered:
            authors = {peer.client_id for peer, _ in ops}
            self.hub.deliver(room, room.offer(delivery), delivery, authors)
        else:
            self.hub.deliver(room, room.offer(delivery))
        return frame

    def _taken(self, room: Room, taken: list[engine.Answer], answers: list[engine.Answer]) -> None:
        """
        Queue the answers to ops refused for a client id another writer used (`client_id_taken`).
        The state holds them though the log does not: reload it now, or the writer's resend
        under its new id would be refused as "already exists" until the next periodic refresh.
        """
        if taken:
            answers += taken
            self.repair.reload_now(room)

    def _settle_refused(
        self,
        c: Checked,
        res: AppendResult | None,
        result: store.TickResult,
        acks: dict[Peer, list[tuple[int, int]]],
        answers: list[engine.Answer],
    ) -> None:
        room = c.room
        new = len(res.entries) if res is not None else 0
        done = engine.settle_refusals(
            c, new=new, head=result.heads.get(room.board_id), found=result.found
        )
        for peer, op_id, seq in done.acks:
            acks[peer].append((op_id, seq))
        answers += done.answers
        if done.reload:
            metrics.DOUBTED_REFUSALS.inc(done.doubted)
            self.repair.reload_now(room)
        if done.requeued:
            self.hub.work.set()

    def _unavailable(self, checked: dict[str, Checked]) -> None:
        """
        The commit failed: answer everything taken `unavailable` and reload each state.
        """
        for c in checked.values():
            if c.offered:
                tentative.withdraw(c.room, c.offered)
            answers = engine.commit_failed(c)
            if self.hub.rooms.get(c.room.board_id) is c.room:
                self.repair.reload_now(c.room)
            self._answer(answers)

    def _cursors(self) -> dict[str, list[list[Any]]]:
        """
        Each room's cursors that moved this tick, sent as one `cur` frame to its sockets.
        """
        out: dict[str, list[list[Any]]] = {}
        for room in list(self.hub.rooms.values()):
            rows = [p.cursor for p in room.peers.values() if p.cursor is not None]
            if not rows:
                continue
            for peer in room.peers.values():
                peer.cursor = None
            try:
                room.send_cursors(rows)
            except Exception:
                logger.exception("board %s: the cursor frame failed", room.board_id)
                self.hub.fail_room(room)
                continue
            out[room.board_id] = rows
        return out


def _checkable(room: Room) -> bool:
    return bool(room.pending) and room.ready and not room.busy and room.state is not None


def _acks_owed(ops: Accepted, res: AppendResult, acks: dict[Peer, list[tuple[int, int]]]) -> None:
    """
    Collect the `ack` pairs of ops whose author will not see them as new entries (protocol §2.2).

    A new op is acknowledged by its entry in the `ops` frame the author gets right after the commit
    (or later, from the reorder buffer or a gap fill: always in seq order), not by an `ack` frame
    per author per tick, which would be about half of all frames sent in rooms of many boards, each
    a send of its own. Acks remain for duplicates (no new entry) and for authors still catching up,
    whose live frames are held and may be superseded by a `snap`.
    """
    for peer, op in ops:
        key = (peer.client_id, int(op["i"]))
        seq = res.acks.get(key)
        if seq is not None and (peer.catching_up or key in res.duplicates):
            acks[peer].append((key[1], seq))
