"""
A board's size budget (issue 15, finding 6): check_op refuses an op that would take the board
past its stroke points or text characters with BoardFull, against running totals that every
reducer keeps in step, so the check stays O(1) on the hot path.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from board.document import BoardState, Limits, apply_in_place, check_op, materialize
from board.document import check as check_module
from board.document import state as state_module
from board.document.points import point_count
from board.exceptions import BoardFull, OpRejected
from tests.board.strategies import elements, op_bodies

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
PROPERTY = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])


def stroke(el_id: str, points: int, **fields: Any) -> dict[str, Any]:
    el = {"id": el_id, "type": "stroke", "x": 0, "y": 0, "style": dict(STYLE), "p": [1, 1] * points}
    return {**el, **fields}


def text(el_id: str, body: str) -> dict[str, Any]:
    return {
        "id": el_id,
        "type": "text",
        "x": 0,
        "y": 0,
        "style": dict(STYLE),
        "text": body,
        "size": 9,
    }


def rect(el_id: str) -> dict[str, Any]:
    return {"id": el_id, "type": "rect", "x": 0, "y": 0, "w": 3, "h": 3, "style": dict(STYLE)}


def add(el: dict[str, Any], i: int = 1) -> dict[str, Any]:
    return {"i": i, "k": "add", "el": el}


def recounted(state: BoardState) -> tuple[int, int]:
    """
    The totals by definition: summed over the elements now.
    """
    els = state.elements.values()
    points = sum(point_count(el) for el in els if el["type"] == "stroke")
    chars = sum(len(el.get("text") or "") for el in els)  # text elements and box labels
    return points, chars


def totals(state: BoardState) -> tuple[int, int]:
    return state.total_points, state.total_text_chars


# --- the running totals --------------------------------------------------------------------

#: Any client op, plus a server `rst` (its elements may repeat an id: the first wins).
any_op = st.one_of(
    op_bodies(),
    st.builds(lambda els: {"k": "rst", "from": 1, "els": els}, st.lists(elements(), max_size=5)),
)


@PROPERTY
@given(start=st.lists(elements(), max_size=6), ops=st.lists(any_op, max_size=40))
def test_the_totals_follow_every_op_kind(start: list[dict[str, Any]], ops: list[Any]) -> None:
    state = BoardState.from_snapshot({"v": 1, "s": 0, "els": [dict(e) for e in start]})
    assert totals(state) == recounted(state)
    for n, op in enumerate(ops, 1):
        apply_in_place(state, {"i": n, **op})
        assert totals(state) == recounted(state), op
    # Every other way a state comes to be counts once, from its elements.
    assert totals(state.copy()) == recounted(state)
    assert totals(BoardState(dict(state.elements))) == recounted(state)
    snapshot = msgpack.unpackb(msgpack.packb(state.to_snapshot()))
    assert totals(BoardState.from_snapshot(snapshot)) == recounted(state)
    deferred = BoardState.deferred(state.seq, lambda: dict(state.elements))
    assert totals(deferred) == recounted(state)
    assigned = BoardState()
    assigned.elements = dict(state.elements)
    assert totals(assigned) == recounted(state)


def test_the_totals_of_a_small_board_by_hand() -> None:
    state = materialize(None, [add(stroke("s", 3)), add(text("t", "héllo"), 2), add(rect("r"), 3)])
    assert totals(state) == (3, 5)
    apply_in_place(state, {"i": 4, "k": "app", "id": "s", "p": [2, 2, 3, 3]})
    apply_in_place(state, {"i": 5, "k": "app", "id": "r", "p": [2, 2]})  # not a stroke: no-op
    apply_in_place(state, {"i": 6, "k": "upd", "id": "t", "set": {"text": "hi"}})
    apply_in_place(state, {"i": 7, "k": "upd", "id": "r", "set": {"text": "label"}})  # counts
    apply_in_place(state, {"i": 8, "k": "mov", "ids": ["s", "t"], "dx": 1, "dy": 1})
    assert totals(state) == (5, 7)
    apply_in_place(state, {"i": 9, "k": "del", "ids": ["s", "s", "gone"]})
    assert totals(state) == (0, 7)
    apply_in_place(state, {"i": 10, "k": "upd", "id": "r", "set": {"text": None}})  # removed
    assert totals(state) == (0, 2)
    apply_in_place(state, {"i": 11, "k": "rst", "from": 1, "els": [stroke("a", 4), stroke("a", 9)]})
    assert totals(state) == (4, 0)
    apply_in_place(state, {"i": 12, "k": "clr"})
    assert totals(state) == (0, 0)


def test_the_hot_path_never_recounts_the_board(monkeypatch: pytest.MonkeyPatch) -> None:
    # check_op and the reducers of client ops move the totals by the op's own size: a board of
    # 50,000 elements costs them no more than an empty one.
    state = materialize(None, [add(stroke("s", 2)), add(text("t", "abc"), 2), add(rect("r"), 3)])

    def no_recount(*args: Any) -> Any:
        raise AssertionError("counted the whole board on the hot path")

    for module in (state_module, check_module):
        monkeypatch.setattr(module, "count_totals", no_recount)
    limits = Limits(max_board_points=100, max_board_text_chars=100)
    ops = [
        add(stroke("n", 2)),
        add(text("u", "xy")),
        {"k": "app", "id": "s", "p": [1, 1]},
        {"k": "upd", "id": "t", "set": {"text": "abcd", "x": 3}},
        {"k": "mov", "ids": ["s"], "dx": 1, "dy": 1},
        {"k": "del", "ids": ["r"]},
        {"k": "clr"},
    ]
    for n, op in enumerate(ops, 4):
        check_op(state, {"i": n, **op}, limits)
        apply_in_place(state, {"i": n, **op})
    assert state.seq == 10 and totals(state) == (0, 0)


# --- check_op against the budgets ----------------------------------------------------------

LIMITS = Limits(max_board_points=10, max_board_text_chars=8)


def full_board() -> BoardState:
    # 10 of 10 points, 8 of 8 characters.
    return materialize(
        None, [add(stroke("s", 6)), add(stroke("q", 4), 2), add(text("t", "12345678"), 3)]
    )


_UPD_T = {"i": 1, "k": "upd", "id": "t"}
_RST = {"i": 1, "k": "rst", "from": 1}
REFUSED = [
    ("add of a stroke", add(stroke("n", 1)), "op.el.p", 10, "its strokes would pass 10 points"),
    ("app", {"i": 1, "k": "app", "id": "s", "p": [1, 1]}, "op.p", 10, "would pass 10 points"),
    ("add of a text", add(text("u", "x")), "op.el.text", 8, "its text would pass 8 characters"),
    ("upd growing a text", {**_UPD_T, "set": {"text": "x" * 9}}, "op.set.text", 8, "8 characters"),
    ("rst", {**_RST, "els": [stroke("a", 11)]}, "op.els", 10, "pass 10 points"),
    ("rst of text", {**_RST, "els": [text("a", "x" * 9)]}, "op.els", 8, "8 characters"),
]


@pytest.mark.parametrize(
    ("op", "field", "limit", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_an_op_past_a_budget_is_board_full_naming_field_and_limit(
    op: dict[str, Any], field: str, limit: int, message: str
) -> None:
    with pytest.raises(BoardFull) as info:
        check_op(full_board(), op, LIMITS)
    assert info.value.code == "board_full"
    assert info.value.extra == {"field": field, "limit": limit}
    assert info.value.message.startswith(f"{field}: ") and message in info.value.message


ALLOWED = [
    ("add of a shape", add(rect("r"))),
    ("add of a stroke without points", add(stroke("n", 0))),
    ("add of an empty text", add(text("u", ""))),
    ("upd shrinking a text", {"i": 1, "k": "upd", "id": "t", "set": {"text": "1"}}),
    ("upd of a text's size", {"i": 1, "k": "upd", "id": "t", "set": {"size": 30}}),
    ("mov", {"i": 1, "k": "mov", "ids": ["s", "t"], "dx": 5, "dy": 5}),
    ("del", {"i": 1, "k": "del", "ids": ["s"]}),
    ("clr", {"i": 1, "k": "clr"}),
]


@pytest.mark.parametrize("op", [c[1] for c in ALLOWED], ids=[c[0] for c in ALLOWED])
def test_an_op_that_adds_nothing_is_never_refused_by_a_budget(op: dict[str, Any]) -> None:
    check_op(full_board(), op, LIMITS)
    # Also on a board above its budget (an operator lowered it): it can still be cleaned up.
    check_op(full_board(), op, Limits(max_board_points=3, max_board_text_chars=2))


def test_a_restore_must_fit_whole() -> None:
    # `rst` replaces the board, so its elements alone count (an id repeated counts once).
    check_op(full_board(), {**_RST, "els": [stroke("a", 10), stroke("a", 30)]}, LIMITS)


def test_the_other_bounds_are_board_full_with_field_and_limit_too() -> None:
    state = materialize(None, [add(stroke("s", 4)), add(rect("r"), 2)])
    with pytest.raises(BoardFull) as stroke_full:
        check_op(
            state, {"i": 3, "k": "app", "id": "s", "p": [1, 1]}, Limits(max_points_per_stroke=4)
        )
    assert stroke_full.value.extra == {"field": "op.p", "limit": 4}
    with pytest.raises(BoardFull) as elements_full:
        check_op(state, add(rect("n"), 3), Limits(max_elements=2), where="ops[2]")
    assert elements_full.value.extra == {"field": "ops[2].el", "limit": 2}
    assert elements_full.value.message == "ops[2].el: it has 2 elements, the most a board may have"


@PROPERTY
@given(ops=st.lists(op_bodies(), max_size=60))
def test_checked_ops_never_take_a_board_past_its_budget(ops: list[dict[str, Any]]) -> None:
    limits = Limits(max_board_points=12, max_board_text_chars=20)
    state = BoardState()
    for n, op in enumerate(ops, 1):
        try:
            check_op(state, {"i": n, **op}, limits)
        except OpRejected:  # BoardFull included
            continue
        apply_in_place(state, {"i": n, **op})
        assert state.total_points <= 12 and state.total_text_chars <= 20


@override_settings(INKROOM={"MAX_BOARD_POINTS": 123, "MAX_BOARD_TEXT_CHARS": 45})
def test_the_budgets_come_from_settings() -> None:
    limits = Limits.from_settings()
    assert (limits.max_board_points, limits.max_board_text_chars) == (123, 45)
