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
Refused = list[tuple[Room, Peer, dict[str, Any], OpRejected]]


class Ticker:
    """
    The tick loop of one hub.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def run(self) -> None:
        hub, loop = self.hub, asyncio.get_running_loop()
        last = 0.0
        while True:
            await hub.work.wait()
            hub.work.clear()
            delay = app_settings.TICK_MS / 1000 - (loop.time() - last)
            if delay > 0:
                await asyncio.sleep(delay)
            last = loop.time()
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
        hub = self.hub
        hub.counts.flush()
        accepted: dict[str, Accepted] = {}
        refused: Refused = []
        for room in list(hub.rooms.values()):
            if room.pending and room.ready and not room.busy and room.state is not None:
                accepted[room.board_id] = self._check(room, refused)
        cursors = self._cursors()
        presence = self.hub.pods.presence_changes()
        published: dict[str, list[Any]] = {}
        if any(accepted.values()) or refused:
            published = await self._commit(accepted, refused)
        hub.pods.publish(published, presence, cursors)
        hub.pods.maybe_snapshot()

    def _check(self, room: Room, refused: Refused) -> Accepted:
        state, limits = room.state, self.hub.limits
        assert state is not None  # guarded by the caller
        pending, room.pending = room.pending, []
        ok: Accepted = []
        held: dict[Peer, list[int]] = defaultdict(list)
        for peer, op in pending:
            if peer.behind_refused(int(op["i"])):
                held[peer].append(int(op["i"]))
                continue
            try:
                check_op(state, op, limits)
            except OpRejected as exc:
                refused.append((room, peer, op, exc))
                continue
            apply_in_place(state, op)
            ok.append((peer, op))
        room.spec_ops, room.spec_base = len(ok), room.applied_seq
        for peer, ids in held.items():
            msg = "an earlier op was refused with `unavailable`; resend from it"
            self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, ids)
        return ok

    async def _commit(
        self, accepted: dict[str, Accepted], refused: Refused
    ) -> dict[str, list[Any]]:
        hub = self.hub
        batches = {
            board: [Submission(p.client_id, p.user_id, op) for p, op in ops]
            for board, ops in accepted.items()
            if ops
        }
        suspects = [(r.board_id, p.client_id, int(op["i"])) for r, p, op, _ in refused]
        started = time.perf_counter()
        try:
            result = await hub.write(store.commit_tick, batches, suspects)
        except Exception:
            logger.exception("op batch of %s boards not stored", len(batches))
            self._unavailable(accepted, refused)
            return {}
        committed = time.perf_counter()
        metrics.DB_LATENCY.observe(committed - started)
        acks: dict[Peer, list[tuple[int, int]]] = defaultdict(list)
        published: dict[str, list[Any]] = {}
        stored = 0
        for board, ops in accepted.items():
            res = result.results.get(board)
            room = hub.rooms.get(board)
            if res is None or room is None:
                continue
            stored += len(res.entries)
            frame = self._committed(room, res, ops)
            if frame is not None:
                published[board] = [res.first_seq, res.last_seq, frame]
            _acks_owed(ops, res, acks)
        self._answer_refused(refused, result.found, acks)
        for peer, pairs in acks.items():
            peer.outbox.push(encode(Ack(a=pairs)))
        metrics.BATCH_SIZE.observe(stored)
        metrics.FANOUT_LATENCY.observe(time.perf_counter() - committed)
        return published

    def _committed(self, room: Room, res: AppendResult, ops: Accepted) -> bytes | None:
        """
        Settle the room's state after its commit and deliver the frame; return the frame.
        """
        room.spec_ops = 0
        if res.missing:
            self.hub.drop_room(room, CloseCode.NOT_FOUND)
            return None
        clean = not res.duplicates and len(res.entries) == len(ops)
        if clean and room.exact and (not res.entries or res.first_seq == room.spec_base + 1):
            room.applied_seq = res.last_seq or room.applied_seq
        else:
            room.exact = False
            room.applied_seq = max(room.applied_seq, res.last_seq)
        if not res.entries:
            return None
        frame = ops_frame_from_entries(res.entries)
        delivery = Delivery(res.first_seq, res.last_seq, frame, res.entries, applied=True)
        if clean:  # the entries are the ops, in order
            delivery.authored = [(peer.client_id, op) for peer, op in ops]
        self.hub.deliver(room, room.offer(delivery))
        return frame

    def _answer_refused(
        self,
        refused: Refused,
        found: dict[tuple[str, str, int], int],
        acks: dict[Peer, list[tuple[int, int]]],
    ) -> None:
        for room, peer, op, exc in refused:
            op_id = int(op["i"])
            seq = found.get((room.board_id, peer.client_id, op_id))
            if seq is not None:
                acks[peer].append((op_id, seq))  # a resend of a stored op: ack, don't refuse
            else:
                field = exc.extra.get("field")
                field = field if isinstance(field, str) else None
                self.hub.error(peer, ErrorCode.INVALID_OP, exc.message, [op_id], field)

    def _unavailable(self, accepted: dict[str, Accepted], refused: Refused) -> None:
        for board, ops in accepted.items():
            room = self.hub.rooms.get(board)
            if room is not None:
                room.spec_ops, room.exact = 0, False
                self.hub.pods.reload_now(room)
            by_peer: dict[Peer, list[int]] = defaultdict(list)
            for peer, op in ops:
                by_peer[peer].append(int(op["i"]))
            for peer, ids in by_peer.items():
                peer.refuse_from(min(ids))
                msg = "the database refused the write; resend later"
                self.hub.error(peer, ErrorCode.UNAVAILABLE, msg, ids)
        for _room, peer, op, exc in refused:
            self.hub.error(peer, ErrorCode.INVALID_OP, exc.message, [int(op["i"])])

    def _cursors(self) -> dict[str, list[list[Any]]]:
        """
        Each room's cursors that moved this tick, sent as one `cur` frame to its sockets.
        """
        out: dict[str, list[list[Any]]] = {}
        for room in self.hub.rooms.values():
            rows = [p.cursor for p in room.peers.values() if p.cursor is not None]
            if not rows:
                continue
            for peer in room.peers.values():
                peer.cursor = None
            out[room.board_id] = rows
            self.send_cursors(room, rows)
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
