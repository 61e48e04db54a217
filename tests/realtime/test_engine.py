"""
The room engine on a bare Room: no hub, no loop, no database (realtime.engine.decisions).
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from board.document import BoardState, Limits, apply_in_place
from realtime.engine import decisions as engine
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room
from realtime.wire.protocol import ErrorCode
from tests.support.ops import append, stroke

LIMITS = Limits()


def _peer(client_id: str) -> Peer:
    limiter = RateLimiter.create(ops_per_sec=1, ops_burst=1, bytes_per_sec=1, bytes_burst=1)
    queue: Any = None  # the engine never sends: effects are returned, not carried out
    return Peer("b", client_id, None, client_id, "editor", None, queue, limiter)


def _room(*ops: dict[str, Any]) -> Room:
    """
    A ready room whose state is exactly the log of `ops` (seqs 1..n).
    """
    state = BoardState()
    for op in ops:
        apply_in_place(state, op)
    state.seq = len(ops)
    room = Room("b")
    room.load(state, 0, 0.0)
    return room


def _entry(op: dict[str, Any], seq: int, client_id: str, author: int | None = None) -> bytes:
    """
    The log's stored entry of `op` (board.oplog.sequence).
    """
    return bytes(msgpack.packb({**op, "s": seq, "c": client_id, "u": author}))


def _codes(answers: list[engine.Answer]) -> list[tuple[str, str, list[int]]]:
    return [(a.peer.client_id, str(a.code), a.ids) for a in answers]


def test_ops_are_checked_in_order_and_each_accepted_one_is_applied() -> None:
    room = _room()
    ann = _peer("ann-0001")
    room.pending = [(ann, stroke(1, "s")), (ann, append(2, "s"))]
    checked = engine.check_pending(room, LIMITS)
    assert [op["i"] for _, op in checked.accepted] == [1, 2]
    assert room.pending == [] and room.spec_ops == 2 and checked.exact_at == 0
    assert room.state is not None and len(room.state.elements["s"]["p"]) == 8


def test_a_refusal_holds_back_that_peers_later_ops_only() -> None:
    room = _room()
    ann, bob = _peer("ann-0001"), _peer("bob-0001")
    room.pending = [(ann, append(1, "nope")), (bob, stroke(1, "b")), (ann, stroke(2, "a"))]
    checked = engine.check_pending(room, LIMITS)
    assert [(p.client_id, op["i"]) for p, op, _ in checked.refused] == [("ann-0001", 1)]
    assert [(p.client_id, op["i"]) for p, op in checked.accepted] == [("bob-0001", 1)]
    assert [(p.client_id, op["i"]) for p, op in checked.deferred] == [("ann-0001", 2)]


def test_a_refusal_by_a_state_that_saw_the_whole_log_is_final() -> None:
    room = _room()
    ann = _peer("ann-0001")
    room.pending = [(ann, append(1, "nope")), (ann, stroke(2, "a"))]
    checked = engine.check_pending(room, LIMITS)
    done = engine.settle_refusals(checked, new=0, head=0, found={})
    assert _codes(done.answers) == [("ann-0001", "invalid_op", [1])]
    assert not done.reload and room.exact
    # The op held behind it is checked again at the next tick, not refused with it.
    assert done.requeued and [op["i"] for _, op in room.pending] == [2]


@pytest.mark.parametrize("exact", [True, False])
def test_a_refusal_by_a_state_that_lacked_ops_of_the_log_is_answered_unavailable(
    exact: bool,
) -> None:
    room = _room()
    room.exact = exact
    ann = _peer("ann-0001")
    room.pending = [(ann, append(7, "theirs")), (ann, append(8, "theirs"))]
    checked = engine.check_pending(room, LIMITS)
    # Exact, but another process stored seq 1 (the stroke "theirs") meanwhile; or inexact.
    done = engine.settle_refusals(checked, new=0, head=1 if exact else 0, found={})
    assert _codes(done.answers) == [
        ("ann-0001", "unavailable", [7]),
        ("ann-0001", "unavailable", [8]),
    ]
    assert done.reload and not room.exact and room.pending == []
    # Later ops wait for the resend of 7, in order.
    assert ann.behind_refused(8) and not ann.behind_refused(7)


def test_a_refused_resend_of_a_stored_op_is_acknowledged_with_its_seq() -> None:
    room = _room(stroke(1, "s"))
    ann = _peer("ann-0001")
    room.pending = [(ann, stroke(1, "s"))]  # "already exists": it is the same op, resent
    checked = engine.check_pending(room, LIMITS)
    found = {("b", "ann-0001", 1): (1, _entry(stroke(1, "s"), 1, "ann-0001"))}
    done = engine.settle_refusals(checked, new=0, head=1, found=found)
    assert [(p.client_id, i, s) for p, i, s in done.acks] == [("ann-0001", 1, 1)]
    assert done.answers == []


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(_entry(stroke(1, "s"), 1, "ann-0001", author=7), id="another author"),
        pytest.param(_entry(stroke(1, "s", x=99), 1, "ann-0001"), id="another op"),
    ],
)
def test_a_refused_op_whose_key_holds_another_op_is_answered_client_id_taken(
    stored: bytes,
) -> None:
    # Someone else stored under ann's id (it is public) while she was away: not her resend.
    room = _room(stroke(1, "s"))
    ann = _peer("ann-0001")
    room.pending = [(ann, stroke(1, "s"))]
    checked = engine.check_pending(room, LIMITS)
    done = engine.settle_refusals(checked, new=0, head=1, found={("b", "ann-0001", 1): (1, stored)})
    assert done.acks == []
    assert _codes(done.answers) == [("ann-0001", "client_id_taken", [1])]


def test_a_hold_moves_on_when_the_op_it_waits_for_turns_out_stored() -> None:
    room = _room()
    ann = _peer("ann-0001")
    ann.refuse_from(3)  # answered unavailable; its commit happened after all
    room.pending = [(ann, append(5, "s")), (ann, append(6, "s"))]
    checked = engine.check_pending(room, LIMITS)
    assert _codes(checked.answers) == [("ann-0001", "unavailable", [5, 6])]
    assert checked.lookups() == [("b", "ann-0001", 3)]
    engine.settle_refusals(checked, new=0, head=0, found={("b", "ann-0001", 3): (9, b"")})
    # The client never resends 3 (the log acked it); it resends from 5, which is let through.
    assert ann.unavailable_from == 5 and not ann.behind_refused(5)


def test_a_failed_commit_answers_everything_taken_unavailable() -> None:
    room = _room()
    ann, bob = _peer("ann-0001"), _peer("bob-0001")
    room.pending = [(ann, stroke(1, "a")), (bob, append(4, "nope")), (bob, stroke(5, "b"))]
    checked = engine.check_pending(room, LIMITS)
    answers = engine.commit_failed(checked)
    assert sorted(_codes(answers)) == [
        ("ann-0001", "unavailable", [1]),
        ("bob-0001", "unavailable", [4, 5]),
    ]
    assert room.spec_ops == 0 and not room.exact
    assert ann.unavailable_from == 1 and bob.unavailable_from == 4


def test_an_op_whose_check_raises_closes_its_socket_only(monkeypatch: Any) -> None:
    room = _room()
    ann, bob = _peer("ann-0001"), _peer("bob-0001")
    real = engine.check_op

    def check(state: BoardState, op: dict[str, Any], limits: Limits) -> None:
        if op["el"]["id"] == "boom":
            raise RuntimeError("a server bug")
        real(state, op, limits)

    monkeypatch.setattr(engine, "check_op", check)
    room.pending = [(ann, stroke(1, "boom")), (bob, stroke(1, "fine")), (ann, stroke(2, "x"))]
    checked = engine.check_pending(room, LIMITS)
    assert checked.poisoned == [ann] and not room.exact
    assert [(p.client_id, op["i"]) for p, op in checked.accepted] == [("bob-0001", 1)]
    assert ErrorCode.INVALID_OP not in {a.code for a in checked.answers}


@pytest.mark.parametrize(("head", "code"), [(1, "board_full"), (2, "unavailable")])
def test_an_op_past_the_boards_budget_is_answered_board_full_when_the_refusal_is_sound(
    head: int, code: str
) -> None:
    room = _room(stroke(1, "s"))  # 2 points
    ann = _peer("ann-0001")
    room.pending = [(ann, append(1, "s")), (ann, stroke(2, "t"))]
    checked = engine.check_pending(room, Limits(max_board_points=3))
    # head 1: the state saw the whole log, the refusal stands. head 2: another process stored
    # an op meanwhile (it may have deleted strokes), so the refusal is doubted.
    done = engine.settle_refusals(checked, new=0, head=head, found={})
    assert _codes(done.answers)[0] == ("ann-0001", code, [1])
    if code == "board_full":
        [answer] = done.answers
        assert answer.field == "op.p" and "3 points" in answer.message
        assert not done.reload and [op["i"] for _, op in room.pending] == [2]
    else:
        assert done.reload and not room.exact
