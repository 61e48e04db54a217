"""
The reducer: how a sequence of ops becomes a board.

`apply_in_place` is TOTAL and deterministic. Ops are validated against the board (check_op) when
they are sequenced, but two processes may validate against states that differ by the other's
not-yet-seen ops, so by the time an op is applied it may no longer fit: its element was deleted,
its id was taken, the element was replaced by one of another type. Such an op (or the part of it
that no longer fits) is a no-op, never an error; every replica that applies the same log in `seq`
order therefore reaches the same state, whichever process validated what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from board.document import bindings
from board.document.limits import COORD_MAX, TEXT_WRAP_MAX
from board.document.state import BoardState, Element, copy_element, points_of, text_chars_of
from board.document.structure import BINDABLE_TYPES, BINDING_KEYS, COMMON_KEYS, LINKED_TYPES
from board.document.styles import STYLE_ENUMS
from board.document.textlayout import LABELLED_TYPES
from board.document.validate import ELEMENT_KEYS, ELEMENT_TYPES, SHAPE_TYPES
from board.document.zorder import apply_ord

#: Pressure given to appended points of a pressure stroke when an op lacks it (only possible
#: when the element was replaced under the op; see the module docstring).
DEFAULT_PRESSURE = 50

#: Fields an `upd` may set, per element type.
UPDATABLE: dict[str, frozenset[str]] = {
    "stroke": frozenset({"style", "x", "y", "rot", "sx", "sy"}),
    "text": frozenset({"style", "x", "y", "text", "size", "align", "w", "rot"}),
    **{t: frozenset({"style", "x", "y", "w", "h", "rot"}) for t in SHAPE_TYPES},
    # Box shapes carry a label (rect, ellipse, and diamond/note once they are element types).
    **{
        t: frozenset({"style", "x", "y", "w", "h", "text", "size", "align", "rot"})
        for t in LABELLED_TYPES & ELEMENT_TYPES
    },
    "frame": frozenset({"style", "x", "y", "w", "h", "name", "rot"}),
    "image": frozenset({"style", "x", "y", "w", "h", "rot"}),
}
for _kind in UPDATABLE:  # groups and lock on every type, bindings on lines and arrows
    UPDATABLE[_kind] |= COMMON_KEYS | (BINDING_KEYS if _kind in LINKED_TYPES else frozenset())


def _clamp(v: int) -> int:
    return COORD_MAX if v > COORD_MAX else -COORD_MAX if v < -COORD_MAX else v


# Each reducer keeps the state's totals in step with what it does to the elements (the
# property test in tests/board/test_budget.py recounts after every op of random logs).


def _add(state: BoardState, op: Mapping[str, Any]) -> None:
    el = op["el"]
    elements = state.elements
    if el["id"] not in elements:
        new = elements[el["id"]] = copy_element(el)
        kind = new["type"]  # points_of and text_chars_of, inline (hot path)
        if kind == "stroke":
            state._points += len(new.get("p") or ()) // 2
        elif "text" in new:  # a text element, or a box shape's label
            state._text_chars += len(new["text"])
        if kind in BINDABLE_TYPES:
            bindings.follow(state, (new["id"],))
        elif "sb" in new or "eb" in new:
            bindings.link(state, new)
            bindings.resolve(elements, new)


def _app(state: BoardState, op: Mapping[str, Any]) -> None:
    el = state.elements.get(op["id"])
    if el is None or el["type"] != "stroke":
        return
    added = op["p"]
    el.setdefault("p", []).extend(added)
    # Validated point arrays are even (validate_op), so the stroke's count grows by exactly this.
    state._points += len(added) // 2
    if "pr" in el:
        el["pr"].extend(op.get("pr") or [DEFAULT_PRESSURE] * (len(added) // 2))


def _upd(state: BoardState, op: Mapping[str, Any]) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        return
    kind = el["type"]
    allowed = UPDATABLE.get(kind, frozenset())
    changes = op["set"]
    relinked = kind in LINKED_TYPES and ("sb" in changes or "eb" in changes)
    if relinked:
        bindings.unlink(state, el)
    for key, value in changes.items():
        if key == "style":
            style = el["style"] = {**el["style"], **value}
            for name in STYLE_ENUMS.keys() & value.keys():
                if style[name] is None:
                    del style[name]
        elif key in allowed:
            if value is None:  # null removes an optional key; a required one stays
                if key in ELEMENT_KEYS[kind]:
                    continue
            elif key == "w" and kind == "text" and not 1 <= value <= TEXT_WRAP_MAX:
                continue  # a shape's width validated for an element since replaced by a text
            if key == "text":
                state._text_chars += len(value or "") - len(el.get("text") or "")
            if value is None:
                el.pop(key, None)
            else:
                el[key] = value
    if relinked:
        bindings.link(state, el)
    if relinked or not bindings.GEOMETRY_KEYS.isdisjoint(changes):
        _rebind(state, el)


def _rebind(state: BoardState, el: Element) -> None:
    # After an element's geometry or bindings changed: it follows its targets, or its arrows it.
    if el["type"] in BINDABLE_TYPES:
        bindings.follow(state, (el["id"],))
    elif el["type"] in LINKED_TYPES:
        bindings.resolve(state.elements, el)


def _mov(state: BoardState, op: Mapping[str, Any]) -> None:
    dx, dy = op["dx"], op["dy"]
    # dict.fromkeys: an id named twice moves once, as a client selecting it twice would expect.
    ids = dict.fromkeys(op["ids"])
    elements = state.elements
    for el_id in ids:
        el = elements.get(el_id)
        if el is not None:
            el["x"] = _clamp(el["x"] + dx)
            el["y"] = _clamp(el["y"] + dy)
    # Only a board with bindings has more to do (an empty index: no element has sb or eb).
    if state._bound if state._bound is not None else bindings.index_of(state):
        bindings.after_move(state, ids)


def _del(state: BoardState, op: Mapping[str, Any]) -> None:
    elements = state.elements
    for el_id in op["ids"]:
        el = elements.pop(el_id, None)
        if el is not None:
            state._points -= points_of(el)
            state._text_chars -= text_chars_of(el)
            bindings.unlink(state, el)


def _clr(state: BoardState, op: Mapping[str, Any]) -> None:
    state.elements.clear()
    state._points = state._text_chars = 0
    state._bound = {}


def _rst(state: BoardState, op: Mapping[str, Any]) -> None:
    elements: dict[str, Element] = {}
    for el in op["els"]:
        if el["id"] not in elements:
            elements[el["id"]] = copy_element(el)
    state.elements = elements  # counts the totals afresh
    bindings.follow_all(state)


_REDUCERS: dict[str, Callable[[BoardState, Mapping[str, Any]], None]] = {
    "add": _add,
    "app": _app,
    "upd": _upd,
    "mov": _mov,
    "del": _del,
    "clr": _clr,
    "rst": _rst,
    "ord": apply_ord,
}


def apply_in_place(state: BoardState, op: Mapping[str, Any]) -> None:
    """
    Apply one validated op (or stored log entry) to `state`; never raises for a stale op.

    `state.seq` becomes the entry's `s`, or advances by one for an unsequenced op. An unknown
    kind (a newer protocol's op in an old replica) only advances `seq`.
    """
    reducer = _REDUCERS.get(op["k"])
    if reducer is not None:
        reducer(state, op)
    state.seq = op["s"] if "s" in op else state.seq + 1


def apply(state: BoardState, op: Mapping[str, Any]) -> BoardState:
    """
    Return a new state: `state` with `op` applied; `state` is left untouched.
    """
    new = state.copy()
    apply_in_place(new, op)
    return new


def replay(state: BoardState, ops: Iterable[Mapping[str, Any]]) -> BoardState:
    """
    Apply `ops` to `state` in place, skipping log entries the state already covers; return it.
    """
    for op in ops:
        if "s" in op and op["s"] <= state.seq:
            continue
        apply_in_place(state, op)
    return state


def materialize(snapshot: BoardState | None, ops: Iterable[Mapping[str, Any]]) -> BoardState:
    """
    Return the state after applying `ops` to a copy of `snapshot` (or to an empty board).
    """
    return replay(snapshot.copy() if snapshot is not None else BoardState(), ops)
