"""
Structure in the document model: arrow bindings (validation, check_op, the reducer and its
index, undo), z-order (`ord`), groups and lock.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from board.document import (
    BoardState,
    Limits,
    apply,
    apply_in_place,
    check_op,
    inverse_op,
    materialize,
    validate_op,
)
from board.document.bindings import build_index, index_of
from board.document.zorder import restore_z
from board.exceptions import OpRejected
from tests.board.strategies import op_logs
from tests.support.elements import add, board, element, style

LIMITS = Limits()
STYLE = style(2)
PROPERTY = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


el = functools.partial(element, width=2)


def ends(arrow: dict[str, Any]) -> tuple[int, int, int, int]:
    return arrow["x"], arrow["y"], arrow["x"] + arrow["w"], arrow["y"] + arrow["h"]


def bind(target: str, fx: int = 500, fy: int = 500) -> dict[str, Any]:
    return {"id": target, "fx": fx, "fy": fy}


# --- the reducer ---------------------------------------------------------------------------


def test_an_arrow_follows_its_targets_when_they_move_or_resize() -> None:
    state = board(
        el("r"),
        el("o", "ellipse", x=300, y=-40, w=-60, h=81),
        el("a", "arrow", sb=bind("r", 1000, 500), eb=bind("o", 0, 333)),
    )
    # The ellipse's box: left 240, top -40, 60 wide, 81 high: 333 ‰ of 81 is 26.973 -> 26.
    assert ends(state.elements["a"]) == (100, 25, 240, -14)
    moved = materialize(state, [{"k": "mov", "ids": ["r"], "dx": 7, "dy": -3}])
    assert ends(moved.elements["a"]) == (107, 22, 240, -14)
    resized = materialize(state, [{"k": "upd", "id": "o", "set": {"w": 60, "x": 0}}])
    assert ends(resized.elements["a"]) == (100, 25, 0, -14)


def test_a_moved_arrow_keeps_bound_ends_and_moves_free_ones() -> None:
    state = board(el("r"), el("a", "arrow", x=500, y=500, w=10, h=10, eb=bind("r")))
    assert ends(state.elements["a"]) == (500, 500, 50, 25)
    moved = materialize(state, [{"k": "mov", "ids": ["a"], "dx": 5, "dy": 5}])
    assert ends(moved.elements["a"]) == (505, 505, 50, 25)


def test_a_binding_to_a_missing_or_unbindable_element_is_kept_and_ignored() -> None:
    state = board(
        el("s", "stroke"), el("a", "line", x=1, y=2, w=3, h=4, sb=bind("s"), eb=bind("gone"))
    )
    assert ends(state.elements["a"]) == (1, 2, 4, 6)
    readded = materialize(state, [add(el("gone", x=1000))])
    assert ends(readded.elements["a"]) == (1, 2, 1050, 25)
    assert readded.elements["a"]["sb"] == bind("s")


def test_deleting_a_target_keeps_the_arrow_and_undo_reattaches() -> None:
    state = board(el("r"), el("a", "arrow", x=500, y=500, w=0, h=0, eb=bind("r")))
    op = {"k": "del", "ids": ["r"]}
    after = apply(state, op)
    assert after.elements["a"]["eb"] == bind("r")
    moved = materialize(after, [{"k": "mov", "ids": ["a"], "dx": 1, "dy": 1}])
    assert ends(moved.elements["a"]) == (501, 501, 51, 26)
    back = materialize(moved, inverse_op(state, op))
    assert ends(back.elements["a"]) == (501, 501, 50, 25)


def test_clamps_keep_a_resolved_arrow_inside_the_coordinate_ranges() -> None:
    far = el("r", x=10_000_000, y=-10_000_000, w=-20_000_000, h=20_000_000)
    state = board(far, el("a", "arrow", x=-10_000_000, y=0, w=0, h=0, eb=bind("r", 1000, 0)))
    a = state.elements["a"]
    assert (a["x"], a["w"], a["y"], a["h"]) == (-10_000_000, 20_000_000, 0, -10_000_000)
    # The start of a bound line clamps to ±COORD_MAX, its size to ±2·COORD_MAX.
    line = el("b", "line", x=10_000_000, w=20_000_000, sb=bind("r", 0, 0))
    state = board(el("r", x=-10_000_000, w=-20_000_000), line)
    b = state.elements["b"]
    assert (b["x"], b["w"]) == (-10_000_000, 20_000_000)


def test_upd_null_removes_optional_keys() -> None:
    state = board(el("r"), el("a", "arrow", sb=bind("r"), grp=["g1"], lock=True))
    after = materialize(state, [{"k": "upd", "id": "a", "set": {"sb": None, "grp": None}}])
    assert "sb" not in after.elements["a"] and "grp" not in after.elements["a"]
    assert after.elements["a"]["lock"] is True
    assert index_of(after) == {}


@PROPERTY
@given(op_logs())
def test_the_binding_index_is_what_a_scan_of_the_board_finds(log: list[dict[str, Any]]) -> None:
    state = BoardState()
    index_of(state)  # built at the start, then kept up to date op by op
    for entry in log:
        # Now and then a copy (which rebuilds its index on first use), mostly in place.
        if entry["s"] % 5 == 0:
            state = apply(state, entry)
        else:
            apply_in_place(state, entry)
        assert index_of(state) == build_index(state.elements.values())


@PROPERTY
@given(op_logs())
def test_resolving_again_changes_nothing(log: list[dict[str, Any]]) -> None:
    # Idempotent resolution: a replica that rebuilt its board from a snapshot and replays an
    # `rst` of it (which resolves every arrow) gets the same board.
    state = materialize(None, log)
    again = apply(state, {"k": "rst", "from": 0, "els": list(state.elements.values())})
    assert again.elements == state.elements


# --- z-order -------------------------------------------------------------------------------


def z(state: BoardState) -> str:
    return "".join(state.elements)


@pytest.mark.parametrize(
    ("ids", "after", "expected"),
    [
        (["d", "b"], None, "bdace"),
        (["d", "b", "zz", "b"], "e", "acebd"),
        (["a"], "c", "bcade"),
        (["e"], "a", "aebcd"),
        (["a"], "zz", "abcde"),
        (["a", "c"], "c", "abcde"),
        (["zz"], None, "abcde"),
    ],
)
def test_ord_moves_the_listed_elements_above_after(
    ids: list[str], after: str | None, expected: str
) -> None:
    state = board(*(el(k) for k in "abcde"))
    op = {"k": "ord", "ids": ids, "after": after}
    moved = apply(state, op)
    assert z(moved) == expected
    assert moved.total_points == state.total_points
    assert z(materialize(moved, inverse_op(state, op))) == "abcde"


def test_ord_is_validated_and_checked_with_field_paths() -> None:
    op = validate_op({"i": 1, "k": "ord", "ids": ["a"], "after": None}, LIMITS)
    assert op == {"i": 1, "k": "ord", "ids": ["a"], "after": None}
    for raw, path in [
        ({"i": 1, "k": "ord", "ids": []}, "op.after: required"),
        ({"i": 1, "k": "ord", "ids": [], "after": None}, "op.ids: expected an array"),
        ({"i": 1, "k": "ord", "ids": ["a"], "after": 3}, "op.after: expected an id"),
    ]:
        with pytest.raises(OpRejected, match=path):
            validate_op(raw, LIMITS)
    state = board(el("a"), el("b"))
    check_op(state, {"i": 1, "k": "ord", "ids": ["a", "gone"], "after": "b"}, LIMITS)
    for after, message in [("gone", "no element 'gone'"), ("a", "also in ids")]:
        with pytest.raises(OpRejected, match=f"op.after: .*{message}"):
            check_op(state, {"i": 1, "k": "ord", "ids": ["a"], "after": after}, LIMITS)


def test_undoing_a_delete_puts_elements_back_in_z_order() -> None:
    state = board(*(el(k) for k in "abcdef"))
    op = {"k": "del", "ids": ["b", "c", "e", "f"]}
    after = materialize(apply(state, op), [add(el("n"))])
    undo = inverse_op(state, op)
    assert [o["k"] for o in undo] == ["add"] * 4 + ["ord", "ord"]
    assert z(materialize(after, undo)) == "abcdefn"


def test_restore_z_splits_long_runs() -> None:
    elements = {k: el(k) for k in "abcdef"}
    assert restore_z(elements, set("bcde"), 3) == [
        {"k": "ord", "ids": ["b", "c", "d"], "after": "a"},
        {"k": "ord", "ids": ["e"], "after": "d"},
    ]


# --- validation and check_op ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (add(el("a", "arrow", sb={"id": "r", "fx": 1001, "fy": 0})), "op.el.sb.fx: expected an"),
        (add(el("a", "arrow", sb={"id": "r", "fx": 1})), "op.el.sb.fy: required"),
        (add(el("a", "arrow", eb={"id": "r", "fx": 1, "fy": 1, "x": 1})), "op.el.eb.x: unknown"),
        (add(el("a", "arrow", eb={"id": "", "fx": 1, "fy": 1})), "op.el.eb.id: expected an id"),
        (add(el("a", "arrow", eb=None)), "op.el.eb: expected a map"),
        (add(el("r", sb=bind("x"))), "op.el.sb: unknown field"),
        (add(el("r", grp=[f"g{n}" for n in range(9)])), "op.el.grp: at most 8 nested groups"),
        (add(el("r", grp=[])), "op.el.grp: expected an array of 1..8 group ids"),
        (add(el("r", grp=["ok", "not ok"])), r"op.el.grp\[1\]: expected an id"),
        (add(el("r", lock=1)), "op.el.lock: expected true or false"),
        ({"i": 1, "k": "upd", "id": "a", "set": {"grp": ["g"] * 9}}, "op.set.grp: at most 8"),
        ({"i": 1, "k": "upd", "id": "a", "set": {"sb": {"id": "r"}}}, "op.set.sb.fx: required"),
    ],
)
def test_structure_keys_are_validated_with_field_paths(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(OpRejected, match=message):
        validate_op(raw, LIMITS)


def test_validation_keeps_structure_keys_and_normalises_integral_floats() -> None:
    raw = add(el("a", "arrow", sb={"id": "r", "fx": 5.0, "fy": 0}, grp=["g"], lock=False))
    op = validate_op(raw, LIMITS)
    assert op["el"]["sb"] == {"id": "r", "fx": 5, "fy": 0} and type(op["el"]["sb"]["fx"]) is int
    assert op["el"]["grp"] == ["g"] and op["el"]["lock"] is False
    upd = validate_op({"i": 1, "k": "upd", "id": "a", "set": {"eb": None, "lock": None}}, LIMITS)
    assert upd["set"] == {"eb": None, "lock": None}
    assert "sb" not in validate_op(add(el("b", "line")), LIMITS)["el"]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (add(el("a", "arrow", sb=bind("gone"))), "op.el.sb.id: no element 'gone'"),
        (add(el("a", "arrow", eb=bind("s"))), "op.el.eb.id: a stroke cannot be bound to"),
        (add(el("a", "arrow", eb=bind("a"))), "op.el.eb.id: an arrow cannot bind to itself"),
        (
            {"i": 1, "k": "upd", "id": "l", "set": {"sb": bind("l2")}},
            "op.set.sb.id: a line cannot be bound to",
        ),
        ({"i": 1, "k": "upd", "id": "l", "set": {"eb": bind("l")}}, "op.set.eb.id: an arrow"),
        ({"i": 1, "k": "upd", "id": "r", "set": {"sb": bind("r")}}, "op.set.sb: a rect has no"),
    ],
)
def test_check_op_refuses_bindings_that_do_not_fit(op: dict[str, Any], message: str) -> None:
    state = board(el("r"), el("s", "stroke"), el("l", "line"), el("l2", "line"))
    with pytest.raises(OpRejected, match=message) as info:
        check_op(state, op, LIMITS)
    assert info.value.extra["field"] == message.split(":")[0]


def test_check_op_accepts_bindings_to_boxes_and_their_removal() -> None:
    state = board(el("r"), el("l", "line"))
    check_op(state, add(el("a", "arrow", sb=bind("r"), eb=bind("r", 0, 0))), LIMITS)
    check_op(state, {"i": 1, "k": "upd", "id": "l", "set": {"sb": None, "eb": bind("r")}}, LIMITS)
