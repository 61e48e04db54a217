"""
The document model: validation of untrusted ops, checks against the board, the total reducer,
the replay invariant and undo.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from board.document import (
    BoardState,
    Limits,
    apply,
    apply_in_place,
    check_op,
    inverse_op,
    materialize,
    validate_app,
    validate_op,
)
from board.document.limits import DELTA_MAX, OP_ID_MAX, PRESSURE_MAX
from board.exceptions import BoardFull, OpRejected
from tests.board.strategies import junk, op_bodies, op_logs
from tests.support.elements import add, board, element, style

LIMITS = Limits()
STYLE = style(4)
PROPERTY = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])


el = functools.partial(element, box=(10, 10))


# --- the reducer, one op kind at a time ----------------------------------------------------


def test_add_puts_the_element_on_top_and_a_duplicate_add_is_a_no_op() -> None:
    state = board(el("a"), el("b"))
    apply_in_place(state, add(el("a", "text"), 3))
    assert list(state.elements) == ["a", "b"]
    assert state.elements["a"]["type"] == "rect"
    assert state.seq == 3


def test_app_extends_points_and_pressure_and_ignores_missing_or_non_strokes() -> None:
    state = board(el("s", "stroke", p=[0, 0, 1, 1], pr=[10, 20]), el("r"))
    apply_in_place(state, {"k": "app", "id": "s", "p": [2, 2], "pr": [30]})
    apply_in_place(state, {"k": "app", "id": "r", "p": [2, 2]})
    apply_in_place(state, {"k": "app", "id": "gone", "p": [2, 2]})
    assert state.elements["s"]["p"] == [0, 0, 1, 1, 2, 2]
    assert state.elements["s"]["pr"] == [10, 20, 30]
    assert "p" not in state.elements["r"]


def test_app_without_pressure_on_a_pressure_stroke_pads_it() -> None:
    # Only reachable when the stroke was replaced under the op; pressure must stay one per point.
    state = board(el("s", "stroke", p=[0, 0], pr=[10]))
    apply_in_place(state, {"k": "app", "id": "s", "p": [1, 1, 1, 1]})
    assert state.elements["s"]["pr"] == [10, 50, 50]


def test_upd_merges_style_key_by_key_and_skips_fields_the_type_lacks() -> None:
    state = board(el("t", "text"), el("s", "stroke"))
    apply_in_place(
        state, {"k": "upd", "id": "t", "set": {"style": {"fill": "#ff0000"}, "size": 40}}
    )
    apply_in_place(state, {"k": "upd", "id": "s", "set": {"w": 5, "x": 7}})
    apply_in_place(state, {"k": "upd", "id": "gone", "set": {"x": 1}})
    assert state.elements["t"]["style"] == {**STYLE, "fill": "#ff0000"}
    assert state.elements["t"]["size"] == 40
    assert state.elements["s"]["x"] == 7
    assert "w" not in state.elements["s"]


def test_mov_moves_present_ids_once_and_clamps_to_the_coordinate_range() -> None:
    state = board(el("a"), el("b", x=9_999_990))
    apply_in_place(state, {"k": "mov", "ids": ["a", "a", "b", "gone"], "dx": 20, "dy": -5})
    assert (state.elements["a"]["x"], state.elements["a"]["y"]) == (20, -5)
    assert state.elements["b"]["x"] == 10_000_000


def test_del_clr_and_rst() -> None:
    state = board(el("a"), el("b"), el("c"))
    apply_in_place(state, {"k": "del", "ids": ["b", "gone"]})
    assert list(state.elements) == ["a", "c"]
    apply_in_place(state, {"k": "clr"})
    assert state.element_count == 0
    apply_in_place(state, {"k": "rst", "from": 2, "els": [el("x"), el("y"), el("x", "text")]})
    assert list(state.elements) == ["x", "y"]
    assert state.elements["x"]["type"] == "rect"


def test_log_entries_set_seq_and_materialize_skips_covered_entries() -> None:
    snap = board(el("a"))
    entries = [{"s": 1, "k": "del", "ids": ["a"]}, {"s": 2, "k": "add", "el": el("b")}]
    state = materialize(snap, entries)
    assert state.seq == 2
    assert list(state.elements) == ["a", "b"]
    assert list(snap.elements) == ["a"]


def test_apply_returns_a_new_state_and_never_aliases_the_op() -> None:
    op = add(el("s", "stroke", p=[0, 0]))
    before = board()
    after = apply(before, op)
    apply_in_place(after, {"k": "app", "id": "s", "p": [1, 1]})
    assert before.element_count == 0
    assert op["el"]["p"] == [0, 0]


def test_counts_and_snapshot_round_trip() -> None:
    state = board(el("s", "stroke", p=[0, 0, 1, 1, 2, 2]), el("r"))
    assert (state.element_count, state.total_points) == (2, 3)
    data = msgpack.unpackb(msgpack.packb(state.to_snapshot()))
    assert data["v"] == 1 and data["s"] == 2
    assert BoardState.from_snapshot(data) == state
    with pytest.raises(ValueError, match="version"):
        BoardState.from_snapshot({"v": 2, "s": 0, "els": []})


# --- validate_op ---------------------------------------------------------------------------


def test_validate_normalises_numbers_colours_and_fill() -> None:
    raw = add({**el("a"), "style": {"color": "#ABCdef", "width": 4.0, "opacity": 0.5}})
    op = validate_op(raw, LIMITS)
    assert op["el"]["style"] == {"color": "#abcdef", "width": 4, "opacity": 0.5, "fill": None}
    assert type(op["el"]["style"]["width"]) is int


def test_validate_accepts_the_protocol_example() -> None:
    ops = [
        add(el("q3Zr8aPc", "stroke", x=120, y=80, p=[0, 0, 3, 1], pr=[40, 44]), 41),
        {"i": 42, "k": "app", "id": "q3Zr8aPc", "p": [4, 2, 5, 2, 5, 3], "pr": [48, 50, 51]},
    ]
    assert [validate_op(op, LIMITS) for op in ops] == ops


def _with(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    op = copy.deepcopy(base or add(el("a", "stroke", p=[0, 0, 1, 1], pr=[5, 6])))
    *parents, last = path.split(".")
    target = op
    for key in parents:
        target = target[key]
    if value is _MISSING:
        del target[last]
    else:
        target[last] = value
    return op


_MISSING = object()
_APP: dict[Any, Any] = {"i": 1, "k": "app", "id": "s", "p": [1, 1]}
_MOV = {"i": 1, "k": "mov", "ids": ["a"], "dx": 1, "dy": 1}
_UPD = {"i": 1, "k": "upd", "id": "a", "set": {"x": 1}}

INVALID = [
    ("not-a-map", [1, 2], "op: expected a map"),
    ("unknown kind", _with("k", "zap"), "op.k: expected one of"),
    ("rst from a client", {"i": 1, "k": "rst", "from": 0, "els": []}, "server only"),
    ("bool is not int", _with("i", True), "op.i: expected an integer"),
    ("float is not int", _with("i", 1.0), "op.i: expected an integer"),
    ("op id zero", _with("i", 0), "op.i: out of range"),
    ("op id beyond 2^53", _with("i", 2**53), "op.i: out of range"),
    ("missing i", _with("i", _MISSING), "op.i: required"),
    ("unknown op key", _with("zz", 1), "op.zz: unknown field"),
    ("non-str key", {**_APP, 7: 1}, "op.7: unknown field"),
    ("unknown element key", _with("el.zz", 1), "op.el.zz: unknown field"),
    ("pr on a rect", add({**el("a"), "pr": []}), "op.el.pr: unknown field"),
    ("element type", _with("el.type", "blob"), "op.el.type: expected one of"),
    ("missing element field", _with("el.p", _MISSING), "op.el.p: required"),
    ("bad id chars", _with("el.id", "a b"), "op.el.id: expected an id"),
    ("id too long", _with("el.id", "x" * 33), "op.el.id: expected an id"),
    ("empty id", _with("el.id", ""), "op.el.id"),
    ("x out of range", _with("el.x", 10_000_001), "op.el.x: out of range"),
    ("colour name", _with("el.style.color", "red"), "op.el.style.color: expected #rrggbb"),
    ("short colour", _with("el.style.fill", "#fff"), "op.el.style.fill: expected #rrggbb"),
    ("width too small", _with("el.style.width", 0.4), "op.el.style.width: expected a finite"),
    ("width NaN", _with("el.style.width", math.nan), "op.el.style.width: expected a finite"),
    ("opacity inf", _with("el.style.opacity", math.inf), "op.el.style.opacity"),
    ("width bool", _with("el.style.width", True), "op.el.style.width: expected a number"),
    ("width str", _with("el.style.width", "4"), "op.el.style.width: expected a number"),
    ("style missing color", _with("el.style.color", _MISSING), "op.el.style.color: required"),
    ("odd point array", _with("el.p", [1, 2, 3]), "op.el.p: expected an integer array"),
    ("float delta", _with("el.p", [0, 0, 1.5, 1]), "op.el.p[2]: expected an integer delta"),
    ("huge delta", _with("el.p", [0, 2**70]), "op.el.p[1]"),
    ("pressure length", _with("el.pr", [1]), "op.el.pr: expected an array of 2 pressures"),
    ("pressure range", _with("el.pr", [1, 101]), "op.el.pr[1]: expected an integer in 0..100"),
    ("text too long", add(el("t", "text", text="x" * 10_001)), "op.el.text: expected a string"),
    ("text control char", add(el("t", "text", text="a\x00")), "op.el.text: control"),
    ("text non-character", add(el("t", "text", text="a\uffff")), "op.el.text: control"),
    ("text U+FFFE", add(el("t", "text", text="\ufffeb")), "op.el.text: control"),
    ("text surrogate", add(el("t", "text", text="\ud800")), "op.el.text: not valid Unicode text"),
    ("text size", add(el("t", "text", size=3)), "op.el.size: out of range"),
    ("image without asset", add(el("g", "image")), "op.el.asset: required"),
    ("image asset upper case", add(el("g", "image", asset="AB" * 32)), "op.el.asset: expected"),
    ("image asset short", add(el("g", "image", asset="ab" * 31)), "op.el.asset: expected a sha"),
    ("image asset not str", add(el("g", "image", asset=7)), "op.el.asset: expected a sha256"),
    ("asset on a rect", add(el("r", asset="ab" * 32)), "op.el.asset: unknown field"),
    ("upd of an asset", {**_UPD, "set": {"asset": "ab" * 32}}, "op.set.asset: unknown field"),
    ("too many points", {**_APP, "p": [1] * 2050}, "op.p: more than 1024 points"),
    ("app without points", {**_APP, "p": []}, "op.p: expected at least one point"),
    ("app pressure length", {**_APP, "pr": [1, 2]}, "op.pr: expected an array of 1"),
    ("upd empty set", {**_UPD, "set": {}}, "op.set: expected a non-empty map"),
    ("upd unknown field", {**_UPD, "set": {"type": "text"}}, "op.set.type: unknown field"),
    ("upd empty style", {**_UPD, "set": {"style": {}}}, "op.set.style: expected at least"),
    ("upd bad size", {**_UPD, "set": {"size": 1000}}, "op.set.size: out of range"),
    ("mov without ids", {**_MOV, "ids": []}, "op.ids: expected an array of 1..10000"),
    ("mov too many ids", {**_MOV, "ids": ["a"] * 10_001}, "op.ids: expected an array"),
    ("mov bad id", {**_MOV, "ids": ["a", 3]}, "op.ids[1]: expected an id"),
    ("mov float dx", {**_MOV, "dx": 0.5}, "op.dx: expected an integer"),
    ("del ids not a list", {"i": 1, "k": "del", "ids": "a"}, "op.ids: expected an array"),
    ("clr with junk", {"i": 1, "k": "clr", "ids": ["a"]}, "op.ids: unknown field"),
]


@pytest.mark.parametrize(("raw", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_validate_rejects_with_a_message_naming_the_field(raw: Any, message: str) -> None:
    with pytest.raises(OpRejected) as info:
        validate_op(raw, LIMITS)
    assert message in info.value.message
    assert info.value.code == "invalid_op"
    assert info.value.message.startswith(f"{info.value.extra['field']}: ")


def test_validate_prefixes_the_caller_path_and_accepts_rst_for_the_server() -> None:
    with pytest.raises(OpRejected, match=r"^ops\[3\]\.el\.style\.color: expected #rrggbb$"):
        validate_op(_with("el.style.color", "red"), LIMITS, where="ops[3]")
    rst = {"i": 1, "k": "rst", "from": 4, "els": [el("a"), el("b")]}
    assert validate_op(rst, LIMITS, allow_server_kinds=True) == rst
    with pytest.raises(OpRejected, match="duplicate element id"):
        validate_op({**rst, "els": [el("a"), el("a")]}, LIMITS, allow_server_kinds=True)


@pytest.mark.parametrize(
    "raw",
    [
        _with("\ud800", 1),
        _with("el.\udfff", 1),
        _with("el.style.\ud800x", 1),
        {**_UPD, "set": {"\ud800": 1}},
        _with("el.style.color", "\ud800"),
        _with("el.id", "\ud800"),
        {**_MOV, "ids": ["a", "\ud800"]},
        _with("k", "\ud800"),
    ],
    ids=["op key", "element key", "style key", "upd key", "colour", "id", "ids", "kind"],
)
def test_lone_surrogates_anywhere_in_an_op_give_an_encodable_refusal(raw: Any) -> None:
    # The message and field go back to the client in a UTF-8 text frame (protocol §6): a key
    # that is not Unicode text must not be copied into them (issue 14).
    with pytest.raises(OpRejected) as info:
        validate_op(raw, LIMITS)
    info.value.message.encode("utf-8")
    str(info.value.extra["field"]).encode("utf-8")


def test_validate_is_fast_enough_for_the_hot_path() -> None:
    # Budget 10 us per typical op (measured ~4-6 us). CPU time, and a loose bound, so a shared CI
    # box does not flake (wall clock tripled at load 7 on 2 cores), yet a 10x regression fails.
    op = {"i": 42, "k": "app", "id": "q3Zr8aPc", "p": [4, 2, 5, 2] * 4, "pr": [48] * 8}
    rounds = 20_000
    start = time.process_time()
    for _ in range(rounds):
        validate_op(op, LIMITS)
    per_op_us = (time.process_time() - start) / rounds * 1e6
    assert per_op_us < 60, f"validate_op took {per_op_us:.1f} us per op"


# --- check_op ------------------------------------------------------------------------------

STATE_ERRORS = [
    ("add existing id", add(el("r")), OpRejected, "op.el.id: element 'r' already exists"),
    ("app missing", {**_APP, "id": "gone"}, OpRejected, "op.id: no element 'gone'"),
    ("app on a rect", {**_APP, "id": "r"}, OpRejected, "is a rect, not a stroke"),
    ("app lacks pressure", {**_APP, "id": "sp"}, OpRejected, "op.pr: stroke 'sp' needs pressure"),
    ("app extra pressure", {**_APP, "pr": [3]}, OpRejected, "must not have pressure"),
    ("stroke full", {**_APP, "p": [1] * 8}, BoardFull, "op.p: stroke would exceed 5 points"),
    ("stroke too long", add(el("n", "stroke", p=[1] * 12)), BoardFull, "op.el.p: stroke would"),
    ("upd missing", {**_UPD, "id": "gone"}, OpRejected, "op.id: no element 'gone'"),
    ("upd w on a stroke", {**_UPD, "id": "s", "set": {"w": 3}}, OpRejected, "op.set.w"),
    ("upd text on a stroke", {**_UPD, "id": "s", "set": {"text": "x"}}, OpRejected, "no 'text'"),
    ("upd align on a stroke", {**_UPD, "id": "s", "set": {"align": "left"}}, OpRejected, "no 'al"),
    ("remove a rect's w", {**_UPD, "id": "r", "set": {"w": None}}, OpRejected, "must have 'w'"),
    ("mov out of range", {**_MOV, "ids": ["r"], "dx": 10_000_001}, OpRejected, "beyond"),
    ("board full", add(el("new"), 9), BoardFull, "op.el: it has 3 elements"),
]


@pytest.mark.parametrize(
    ("op", "error", "message"), [c[1:] for c in STATE_ERRORS], ids=[c[0] for c in STATE_ERRORS]
)
def test_check_op_rejects_ops_that_do_not_fit_the_board(
    op: dict[str, Any], error: type[Exception], message: str
) -> None:
    state = board(el("r"), el("s", "stroke", p=[0, 0, 1, 1]), el("sp", "stroke", p=[0, 0], pr=[1]))
    with pytest.raises(error, match=None) as info:
        check_op(state, op, Limits(max_points_per_stroke=5, max_elements=3))
    assert type(info.value) is error
    assert message in str(info.value)


def test_check_op_accepts_ops_that_fit() -> None:
    state = board(el("r"), el("s", "stroke", p=[0, 0]))
    for op in [
        add(el("n")),
        {**_APP, "p": [1, 1, 1, 1]},
        {**_UPD, "id": "r", "set": {"w": 3}},
        {**_MOV, "ids": ["r", "gone"]},
        {"i": 1, "k": "del", "ids": ["gone"]},
    ]:
        check_op(state, op, LIMITS)


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(op_bodies())
def test_generated_ops_are_valid_and_already_normal(body: dict[str, Any]) -> None:
    op = {"i": 1, **body}
    assert validate_op(op, LIMITS) == op


@PROPERTY
@given(op_logs())
def test_the_reducer_is_total_and_keeps_the_state_well_formed(log: list[dict[str, Any]]) -> None:
    frozen = copy.deepcopy(log)
    state = materialize(None, log)
    assert log == frozen, "materialize must not mutate its input"
    assert state.seq == len(log)
    for el_id, stored in state.elements.items():
        assert stored["id"] == el_id
        if "pr" in stored:
            assert len(stored["pr"]) * 2 == len(stored["p"])


@PROPERTY
@given(op_logs(), st.data())
def test_replay_from_any_snapshot_equals_a_full_replay(
    log: list[dict[str, Any]], data: Any
) -> None:
    k = data.draw(st.integers(0, len(log)))
    snapshot = msgpack.unpackb(msgpack.packb(materialize(None, log[:k]).to_snapshot()))
    resumed = materialize(BoardState.from_snapshot(snapshot), log[k:])
    # Overlapping tails (a catch-up that re-sends covered entries) change nothing either.
    overlapped = materialize(BoardState.from_snapshot(snapshot), log)
    assert resumed == materialize(None, log) == overlapped


@PROPERTY
@given(op_logs(max_size=15), op_bodies())
def test_inverse_ops_undo_an_op(log: list[dict[str, Any]], body: dict[str, Any]) -> None:
    before = materialize(None, log)
    after = apply(before, body)
    undone = materialize(after, inverse_op(before, body))
    assert undone.elements == before.elements
    if body["k"] in {"add", "upd", "mov", "del", "ord"}:
        assert list(undone.elements) == list(before.elements)


def _mutations(op: Any, data: Any) -> Any:
    """
    Return `op` with one nested value replaced, dropped or joined by junk.
    """
    if isinstance(op, dict) and op and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(op, key=str)))
        action = data.draw(st.sampled_from(["recurse", "drop", "extra"]))
        out = dict(op)
        if action == "recurse":
            out[key] = _mutations(op[key], data)
        elif action == "drop":
            del out[key]
        else:
            out[data.draw(st.text(max_size=3))] = data.draw(junk)
        return out
    if isinstance(op, list) and op and data.draw(st.booleans()):
        n = data.draw(st.integers(0, len(op) - 1))
        return [*op[:n], _mutations(op[n], data), *op[n + 1 :]]
    return data.draw(junk)


@PROPERTY
@given(junk)
def test_validate_raises_only_op_rejected_on_arbitrary_input(raw: Any) -> None:
    try:
        validate_op(raw, LIMITS, allow_server_kinds=True)
    except OpRejected as exc:
        assert exc.message.startswith("op")


@PROPERTY
@given(op_bodies(), st.data())
def test_validate_raises_only_op_rejected_on_mutated_ops(body: dict[str, Any], data: Any) -> None:
    raw = _mutations({"i": 1, **body}, data)
    try:
        op = validate_op(raw, LIMITS)
    except OpRejected as exc:
        assert exc.message.startswith("op")
    else:
        # Whatever passes must be something the reducer can apply to any board.
        materialize(board(el("a", "stroke", p=[0, 0], pr=[1]), el("b", "text")), [op])


_LIMITS = Limits(max_points_per_op=6)
_edge_ints = st.integers(-DELTA_MAX - 2, DELTA_MAX + 2) | st.integers(-(2**40), 2**40)


@given(
    i=st.integers(-3, OP_ID_MAX + 3),
    element_id=st.sampled_from(["s1", "x" * 32, "x" * 33, "", "bad id", "a-b_C9"]),
    points=st.lists(st.tuples(_edge_ints, _edge_ints), max_size=8),
    pressure=st.none() | st.lists(st.integers(-2, PRESSURE_MAX + 2), max_size=8),
)
def test_validate_app_agrees_with_validate_op(
    i: int, element_id: str, points: list[tuple[int, int]], pressure: list[int] | None
) -> None:
    # What the compact decoder hands over (integer lists, whole points), checked the short way,
    # must come out exactly as the same `app` op does from validate_op: same op or same error.
    p = [d for point in points for d in point]
    raw: dict[str, Any] = {"i": i, "k": "app", "id": element_id, "p": p}
    if pressure is not None:
        raw["pr"] = pressure
    try:
        expected: Any = validate_op(copy.deepcopy(raw), _LIMITS, where="ops[0]")
    except OpRejected as exc:
        expected = (exc.message, exc.extra)
    try:
        got: Any = validate_app(i, element_id, p, pressure, _LIMITS, where="ops[0]")
    except OpRejected as exc:
        got = (exc.message, exc.extra)
    assert got == expected
