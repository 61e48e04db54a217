"""
What a tick decides for one room, without I/O: inputs in, the room's state settled, effects out.

The tick (realtime.engine.ticker) is the shell: it takes these decisions for every room, makes the
one commit for all of them, and carries out the effects these functions return (error frames, acks,
closing a socket, reloading a state). Nothing here awaits, reads the clock or touches a socket, so
every rule below is tested on a bare Room (tests/realtime/test_engine.py) and, with the shell around
it, by the simulation (tests/sim).

* `check_pending`: take the room's queued ops and check them in order against its state,
  applying each accepted one (later ops of the tick see it).
* `settle_refusals`: after the commit, answer the refused ops: an ack when the log has them
  already (a resend), `client_id_taken` when it has another op under their key, `invalid_op`
  (or `board_full`, a size bound) only when the state that refused them had seen the whole log,
  `unavailable` otherwise (and a reload); ops held behind a refusal go back to the queue.
* `taken_ids`: after the commit, answer the accepted ops whose key the log holds for another
  op (`client_id_taken`).
* `commit_failed`: the commit failed: everything taken is answered `unavailable`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from board.document import Limits, apply_in_place, check_op
from board.exceptions import BoardFull, OpRejected
from board.oplog import AppendResult, is_resend
from realtime.engine.room import Peer, Room
from realtime.wire.protocol import ErrorCode

logger = logging.getLogger(__name__)

Accepted = list[tuple[Peer, dict[str, Any]]]

HELD_BEHIND_UNAVAILABLE = "an earlier op was refused with `unavailable`; resend from it"
NOT_CHECKABLE_YET = "this op could not be checked against the whole board yet; resend it"
COMMIT_FAILED = "the database refused the write; resend later"
ID_TAKEN = (
    "another writer stored other ops under this client id; nothing of these was stored: "
    "resend them, and every op not acknowledged yet, under a new client id"
)


@dataclass(slots=True)
class Answer:
    """
    Effect: an `error` frame for one peer about some of its ops.
    """

    peer: Peer
    code: ErrorCode
    message: str
    ids: list[int]
    field: str | None = None


class Checked:
    """
    One room's ops taken for a tick, after checking them against its state.

    A plain class rather than a dataclass: one is made per room per tick, and default factories
    cost a call each.
    """

    __slots__ = (
        "accepted",
        "answers",
        "deferred",
        "exact_at",
        "offered",
        "poisoned",
        "refused",
        "room",
        "waiting",
    )

    def __init__(self, room: Room, exact_at: int | None) -> None:
        self.room = room
        #: The seq the state was exactly the log at when it checked them; None when inexact.
        self.exact_at = exact_at
        self.accepted: Accepted = []
        self.refused: list[tuple[Peer, dict[str, Any], OpRejected]] = []
        #: A peer's ops after its refused one, left unchecked (they may depend on it).
        self.deferred: Accepted = []
        #: Peers whose ops were held back for the resend of one answered `unavailable`, with the
        #: first op held: is that one stored? (A commit that failed may have happened; the
        #: client then has it acknowledged by the log and never resends it, only what was held
        #: after it.)
        self.waiting: dict[Peer, int] = {}
        #: Effects of the check: error frames now, and sockets to close with 1011 (an op whose
        #: check or apply raised: a server bug that concerns that socket only).
        self.answers: list[Answer] = []
        self.poisoned: list[Peer] = []
        #: The (author, op id) of the accepted ops sent to the room's sockets as tentatives
        #: before the commit (realtime.engine.tentative); None when none were sent.
        self.offered: list[tuple[str, int]] | None = None

    def lookups(self) -> list[tuple[str, str, int]]:
        """
        The (board, client, op id) keys the commit must look up in the log for this room.
        """
        if not self.refused and not self.waiting:
            return []
        board = self.room.board_id
        keys = [(board, p.client_id, int(op["i"])) for p, op, _ in self.refused]
        keys += [
            (board, p.client_id, p.unavailable_from)
            for p in self.waiting
            if p.unavailable_from is not None
        ]
        return keys


@dataclass(slots=True)
class Settlement:
    """
    Effects of settling a room's refused ops after its commit.
    """

    acks: list[tuple[Peer, int, int]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    #: The state lacked ops the log had: reload it before checking anything else.
    reload: bool = False
    #: Ops went back to the room's queue: the next tick has work.
    requeued: bool = False
    doubted: int = 0


#: What settling a room with nothing refused, deferred or held returns (read only).
_NOTHING = Settlement()


def check_pending(room: Room, limits: Limits) -> Checked:
    """
    Take the room's pending ops and check them in order against its state, applying each one
    accepted.

    Once a peer has an op refused, its later ops of the tick are not checked: they may depend on
    it, and if the refusal turns out unfounded (the state lacked ops the log has) they must reach
    the log after it, not before.
    """
    state = room.state
    assert state is not None  # the shell checks only ready rooms
    pending, room.pending = room.pending, []
    out = Checked(room, room.applied_seq if room.exact else None)
    accepted = out.accepted
    # Made on first use: most ticks refuse and hold back nothing.
    held: dict[Peer, list[int]] | None = None
    stopped: set[Peer] | None = None
    for peer, op in pending:
        if stopped is not None and peer in stopped:
            out.deferred.append((peer, op))
            continue
        if peer.unavailable_from is not None and peer.behind_refused(int(op["i"])):
            held = held if held is not None else defaultdict(list)
            held[peer].append(int(op["i"]))
            continue
        try:
            check_op(state, op, limits)
            apply_in_place(state, op)
        except OpRejected as exc:
            out.refused.append((peer, op, exc))
        except Exception:
            _poisoned(out, peer, op)
        else:
            accepted.append((peer, op))
            continue
        stopped = stopped if stopped is not None else set()
        stopped.add(peer)
    room.spec_ops, room.spec_base = len(accepted), room.applied_seq
    for peer, ids in (held or {}).items():
        out.answers.append(Answer(peer, ErrorCode.UNAVAILABLE, HELD_BEHIND_UNAVAILABLE, ids))
        out.waiting[peer] = min(ids)
    return out


def _poisoned(out: Checked, peer: Peer, op: dict[str, Any]) -> None:
    """
    Checking or applying `op` raised: the state may hold part of it (no longer exact, so it is
    reloaded) and its socket is closed with 1011; the op stays in the client's outbox.
    """
    room = out.room
    logger.exception("op %r of %s on board %s failed", op.get("k"), peer.client_id, room.board_id)
    room.exact = False
    out.poisoned.append(peer)


def settle_refusals(
    checked: Checked,
    *,
    new: int,
    head: int | None,
    found: dict[tuple[str, str, int], tuple[int, bytes]],
) -> Settlement:
    """
    Answer the refused ops of one room after the commit (`new` ops of it stored; `head` the
    board's head read after it; `found` the lookups' answers), and put the ops held behind them
    back at the head of the queue.

    A refusal stands only if the state that made it had seen the whole log: it was exact at the
    check and the head is now where it plus this tick's own ops put it. Otherwise the op may
    well be valid (its element was added through another process, in ops this one had not
    applied yet): it is answered `unavailable`, so the client resends it in order, and the room
    reloads its state first.
    """
    if not checked.refused and not checked.deferred and not checked.waiting:
        return _NOTHING
    room, out = checked.room, Settlement()
    board = room.board_id
    for peer, first_held in checked.waiting.items():
        if (board, peer.client_id, peer.unavailable_from) in found:
            # Stored after all: wait for the resend of the first op held back instead.
            peer.unavailable_from = first_held
    if not checked.refused and not checked.deferred:
        return out
    sound = checked.exact_at is not None and head is not None and head == checked.exact_at + new
    doubted: set[Peer] = set()
    for peer, op, exc in checked.refused:
        op_id = int(op["i"])
        stored = found.get((board, peer.client_id, op_id))
        if stored is not None and is_resend(
            stored[1], op, client_id=peer.client_id, author_id=peer.user_id
        ):
            out.acks.append((peer, op_id, stored[0]))  # a resend of a stored op: ack, don't refuse
        elif stored is not None:
            out.answers.append(Answer(peer, ErrorCode.CLIENT_ID_TAKEN, ID_TAKEN, [op_id]))
        elif sound:
            where = exc.extra.get("field")
            where = where if isinstance(where, str) else None
            code = ErrorCode.BOARD_FULL if isinstance(exc, BoardFull) else ErrorCode.INVALID_OP
            out.answers.append(Answer(peer, code, exc.message, [op_id], where))
        else:
            doubted.add(peer)
            peer.refuse_from(op_id)
            out.answers.append(Answer(peer, ErrorCode.UNAVAILABLE, NOT_CHECKABLE_YET, [op_id]))
    again: Accepted = []
    unchecked: dict[Peer, list[int]] = defaultdict(list)
    for peer, op in checked.deferred:
        if peer in doubted:
            unchecked[peer].append(int(op["i"]))
        else:
            again.append((peer, op))
    for peer, ids in unchecked.items():
        out.answers.append(Answer(peer, ErrorCode.UNAVAILABLE, HELD_BEHIND_UNAVAILABLE, ids))
    if doubted:
        room.exact = False
        out.reload, out.doubted = True, len(doubted)
    if again:
        room.pending[:0] = again
        out.requeued = True
    return out


def taken_ids(accepted: Accepted, res: AppendResult) -> list[Answer]:
    """
    Answer the accepted ops the commit found another op under the key of (`res.conflicts`).

    They were applied to the room's state but not stored: the commit was not clean, so the room
    no longer counts its state exact (Room.committed) and reloads it before trusting a refusal.
    """
    if not res.conflicts:
        return []
    by_peer: dict[Peer, list[int]] = defaultdict(list)
    for peer, op in accepted:
        op_id = int(op["i"])
        if (peer.client_id, op_id) in res.conflicts:
            by_peer[peer].append(op_id)
    return [Answer(peer, ErrorCode.CLIENT_ID_TAKEN, ID_TAKEN, ids) for peer, ids in by_peer.items()]


def commit_failed(checked: Checked) -> list[Answer]:
    """
    The commit failed: nothing of the tick is acknowledged; every op taken is answered
    `unavailable` (the client resends it, in order) and the state must be reloaded.
    """
    room = checked.room
    room.spec_ops, room.exact = 0, False
    by_peer: dict[Peer, list[int]] = defaultdict(list)
    taken = [*checked.accepted, *((p, op) for p, op, _ in checked.refused), *checked.deferred]
    for peer, op in taken:
        by_peer[peer].append(int(op["i"]))
    answers = []
    for peer, ids in by_peer.items():
        peer.refuse_from(min(ids))
        answers.append(Answer(peer, ErrorCode.UNAVAILABLE, COMMIT_FAILED, sorted(ids)))
    return answers
