"""
The hub's tick: every TICK_MS, if anything is pending, sequence and store every board's ops.

One tick = check each room's pending ops against its state (in order; accepted ops are applied
so later ones see them) → ONE append_batches call for all boards in the writer thread → acks to
authors → each board's `ops` frame (built once, by concatenating the stored entries) to its local
sockets → ONE channel-layer message for the whole process. Ops that arrive while a batch is in
flight wait for the next tick: batching adapts to the database's speed by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from board.conf import app_settings
from board.document import apply_in_place, check_op
from board.exceptions import OpRejected
from board.oplog import AppendResult, Submission
from realtime import metrics, store
from realtime.protocol import Ack, CloseCode, Cursors, ErrorCode, encode, ops_frame_from_entries
from realtime.room import Delivery, Peer, Room

if TYPE_CHECKING:
    from realtime.hub import Hub

logger = logging.getLogger(__name__)

#: Cursors are the first thing dropped under load: a socket whose queue is this full gets none.
CURSOR_SKIP_LOAD = 0.5

Accepted = list[tuple[Peer, dict[str, Any]]]


@dataclass(slots=True)
class Checked:
    """
    One room's ops taken for a tick, after checking them against its state.
    """

    room: Room
    #: The seq the state was exactly the log at when it checked them; None when inexact.
    exact_at: int | None
    accepted: Accepted = field(default_factory=list)
    refused: list[tuple[Peer, dict[str, Any], OpRejected]] = field(default_factory=list)
    #: A peer's ops after its refused one, left unchecked (they may depend on it).
    deferred: Accepted = field(default_factory=list)
    #: Peers whose ops were held back for the resend of one answered `unavailable`, with the
    #: first op held: is that one stored? (A commit that failed may have happened; the client
    #: then has it acknowledged by the log and never resends it, only what was held after it.)
    waiting: dict[Peer, int] = field(default_factory=dict)


class Ticker:
    """
    The tick loop of one hub.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def run(self) -> None:
        hub = self.hub
        last = 0.0
        while True:
            await hub.work.wait()
            hub.work.clear()
            delay = app_settings.TICK_MS / 1000 - (hub.clock() - last)
            if delay > 0:
                await asyncio.sleep(delay)
            last = hub.clock()
            try:
                async with hub.tick_lock:
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tick failed; carrying on")

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
                await asyncio.sleep(app_settings.TICK_MS / 1000)

    def _pending(self) -> bool:
        return any(r.pending or r.spec_ops for r in self.hub.rooms.values())

    async def tick(self) -> None:
        """
        Cursors and presence first, then take and check each room's pending ops, commit them all.

        Pending ops are taken off their queues only right before the commit, and each room is
        checked on its own: whatever fails (one room's check, one socket's send, one board's
        fan-out) every op taken ends committed and acknowledged, or answered `unavailable`.
        """
        hub = self.hub
        hub.counts.flush()
        cursors = self._cursors()
        presence = hub.pods.presence_changes()
        checked: dict[str, Checked] = {}
        for room in list(hub.rooms.values()):
            if room.pending and room.ready and not room.busy and room.state is not None:
                checked[room.board_id] = self._check(room)
        published: dict[str, list[Any]] = {}
        if checked:
            published = await self._commit(checked)
        hub.pods.publish(published, presence, cursors)
        hub.pods.maybe_snapshot()

    def _check(self, room: Room) -> Checked:
        """
        Check the room's pending ops in order against its state, applying each accepted one.

        Once a peer has an op refused, its later ops of the tick are not checked: they may
        depend on it, and if the refusal turns out unfounded (the state lacked ops the log has)
        they must reach the log after it, not before.
        """
        state, limits = room.state, self.hub.limits
        assert state is not None  # guarded by the caller
        pending, room.pending = room.pending, []
        out = Checked(room, exact_at=room.applied_seq if room.exact else None)
        held: dict[Peer, list[int]] = defaultdict(list)
        stopped: set[Peer] = set()
        for peer, op in pending:
            if peer in stopped:
                out.deferred.append((peer, op))
                continue
            if peer.behind_refused(int(op["i"])):
                held[peer].append(int(op["i"]))
                continue
            try:
                check_op(state, op, limits)
            except OpRejected as exc:
                out.refused.append((peer, op, exc))
                stopped.add(peer)
                continue
            except Exception:
                self._poisoned(room, peer, op)
                stopped.add(peer)
                continue
            try:
                apply_in_place(state, op)
            except Exception:
                self._poisoned(room, peer, op)
                stopped.add(peer)
                continue
            out.accepted.append((peer, op))
        room.spec_ops, room.spec_base = len(out.accepted), room.applied_seq
        for peer, ids in held.items():
            msg = "an earlier op was refused with `unavailable`; resend from it"
            self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, ids)
            out.waiting[peer] = min(ids)
        return out

    def _poisoned(self, room: Room, peer: Peer, op: dict[str, Any]) -> None:
        """
        Checking or applying `op` raised (a server bug): close its socket with 1011, keep going.

        The op is not stored and stays in the client's outbox. The state may hold part of it, so
        it is no longer exact (it is reloaded); the other ops of the tick go on.
        """
        logger.exception(
            "op %r of %s on board %s failed", op.get("k"), peer.client_id, room.board_id
        )
        room.exact = False
        self.hub.close_peer(peer, CloseCode.INTERNAL_ERROR)

    async def _commit(self, checked: dict[str, Checked]) -> dict[str, list[Any]]:
        hub = self.hub
        batches = {
            board: [Submission(p.client_id, p.user_id, op) for p, op in c.accepted]
            for board, c in checked.items()
            if c.accepted
        }
        suspects = [
            (board, p.client_id, int(op["i"]))
            for board, c in checked.items()
            for p, op, _ in c.refused
        ]
        suspects += [
            (board, p.client_id, p.unavailable_from)
            for board, c in checked.items()
            for p in c.waiting
            if p.unavailable_from is not None
        ]
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
        published: dict[str, list[Any]] = {}
        stored = 0
        for board, c in checked.items():
            res = result.results.get(board)
            try:
                if res is not None and hub.rooms.get(board) is c.room:
                    stored += len(res.entries)
                    frame = self._committed(c.room, res, c.accepted)
                    if frame is not None:
                        published[board] = [res.first_seq, res.last_seq, frame]
                    _acks_owed(c.accepted, res, acks)
                self._settle_refused(c, res, result, acks)
            except Exception:
                # Stored, so not lost: the room's sockets reconnect, catch up and have their
                # resends acknowledged as duplicates.
                logger.exception("board %s: settling a committed tick failed", board)
                hub.fail_room(c.room)
        for peer, pairs in acks.items():
            peer.outbox.push(encode(Ack(a=pairs)))
        metrics.BATCH_SIZE.observe(stored)
        metrics.FANOUT_LATENCY.observe(time.perf_counter() - committed)
        return published

    def _committed(self, room: Room, res: AppendResult, ops: Accepted) -> bytes | None:
        """
        Settle the room's state after its commit and deliver the frame; return the frame.
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
        if clean:  # the entries are the ops, in order
            delivery.authored = [(peer.client_id, op) for peer, op in ops]
        self.hub.deliver(room, room.offer(delivery))
        return frame

    def _settle_refused(
        self,
        c: Checked,
        res: AppendResult | None,
        result: store.TickResult,
        acks: dict[Peer, list[tuple[int, int]]],
    ) -> None:
        """
        Answer the refused ops of one board, and put the ops held behind them back in the queue.

        A refusal stands only if the state that made it had seen the whole log: it was exact at
        the check and the head is now where it plus this tick's own ops put it. Otherwise the
        op may well be valid (its element was added through another process, in ops this one
        had not applied yet): it is answered `unavailable`, so the client resends it in order,
        and the room reloads its state first.
        """
        room, board = c.room, c.room.board_id
        for peer, first_held in c.waiting.items():
            if (board, peer.client_id, peer.unavailable_from) in result.found:
                # Stored after all: wait for the resend of the first op held back instead.
                peer.unavailable_from = first_held
        if not c.refused and not c.deferred:
            return
        new = len(res.entries) if res is not None else 0
        head = result.heads.get(board)
        sound = c.exact_at is not None and head is not None and head == c.exact_at + new
        doubted: set[Peer] = set()
        for peer, op, exc in c.refused:
            op_id = int(op["i"])
            seq = result.found.get((board, peer.client_id, op_id))
            if seq is not None:
                acks[peer].append((op_id, seq))  # a resend of a stored op: ack, don't refuse
            elif sound:
                field = exc.extra.get("field")
                field = field if isinstance(field, str) else None
                self.hub.error(peer, ErrorCode.INVALID_OP, exc.message, [op_id], field)
            else:
                doubted.add(peer)
                peer.refuse_from(op_id)
                msg = "this op could not be checked against the whole board yet; resend it"
                self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, [op_id])
        again: Accepted = []
        unchecked: dict[Peer, list[int]] = defaultdict(list)
        for peer, op in c.deferred:
            if peer in doubted:
                unchecked[peer].append(int(op["i"]))
            else:
                again.append((peer, op))
        for peer, ids in unchecked.items():
            msg = "an earlier op was refused with `unavailable`; resend from it"
            self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, ids)
        if doubted:
            metrics.DOUBTED_REFUSALS.inc(len(doubted))
            room.exact = False
            self.hub.pods.reload_now(room)
        if again and self.hub.rooms.get(board) is room:
            room.pending[:0] = again
            self.hub.work.set()

    def _unavailable(self, checked: dict[str, Checked]) -> None:
        """
        The commit failed: nothing of the tick is acknowledged; every op taken is answered
        `unavailable` (the client resends it, in order) and each state is reloaded from the log.
        """
        for c in checked.values():
            room = c.room
            room.spec_ops, room.exact = 0, False
            if self.hub.rooms.get(room.board_id) is room:
                self.hub.pods.reload_now(room)
            by_peer: dict[Peer, list[int]] = defaultdict(list)
            taken = [*c.accepted, *((p, op) for p, op, _ in c.refused), *c.deferred]
            for peer, op in taken:
                by_peer[peer].append(int(op["i"]))
            for peer, ids in by_peer.items():
                peer.refuse_from(min(ids))
                msg = "the database refused the write; resend later"
                self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, sorted(ids))

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
                self.send_cursors(room, rows)
            except Exception:
                logger.exception("board %s: the cursor frame failed", room.board_id)
                self.hub.fail_room(room)
                continue
            out[room.board_id] = rows
        return out

    @staticmethod
    def send_cursors(room: Room, rows: list[list[Any]]) -> None:
        frame = encode(Cursors(c=rows))
        for peer in room.peers.values():
            if not peer.catching_up and peer.outbox.load < CURSOR_SKIP_LOAD:
                peer.outbox.push(frame)


def _acks_owed(ops: Accepted, res: AppendResult, acks: dict[Peer, list[tuple[int, int]]]) -> None:
    """
    Collect the `ack` pairs of ops whose author will not see them as new entries (protocol §2.2).

    A new op is acknowledged by its entry in the `ops` frame the author gets right after the
    commit (or later, from the reorder buffer or a gap fill: always in seq order); an `ack` frame
    per author per tick was about half of all frames sent in many-boards rooms, each costing a
    Hypercorn/wsproto send. Acks remain for duplicates (no new entry) and for authors still
    catching up, whose live frames are held and may be superseded by a `snap`.
    """
    for peer, op in ops:
        key = (peer.client_id, int(op["i"]))
        seq = res.acks.get(key)
        if seq is not None and (peer.catching_up or key in res.duplicates):
            acks[peer].append((key[1], seq))
