"""
Undo: the ops that revert an op, computed from the state before it.

Clients keep undo/redo stacks of these (frontend mirrors this module); the server never applies
them itself, they come back as ordinary ops. Undo is expressed with the protocol's own op kinds,
so it is only as exact as they allow:

* undoing `del` re-adds the elements and puts them back in z-order with `ord` (above the element
  that was below them); undoing `clr` re-adds everything in its old order, on top of whatever was
  added since; undoing `app` re-creates the whole stroke (del + add), which also moves it to
  the top. A client that groups a stroke's add + apps into one undo step
  (the usual case) gets an exact `del`.
* an op that was a no-op (stale id) has an empty inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.bindings import GEOMETRY_KEYS, bound_to
from board.document.limits import MAX_IDS_PER_OP
from board.document.reducer import UPDATABLE
from board.document.state import BoardState, copy_element
from board.document.structure import BINDING_KEYS, LINKED_TYPES
from board.document.styles import STYLE_ENUMS
from board.document.zorder import restore_z, undo_ord


def _undo_add(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    el_id = op["el"]["id"]
    if el_id in state.elements:
        return []
    # Arrows bound to a missing element stood where they were left; the add re-attaches them.
    return [{"k": "del", "ids": [el_id]}] + [
        {"k": "upd", "id": arrow["id"], "set": {key: arrow[key] for key in GEOMETRY_KEYS}}
        for arrow in bound_to(state, el_id)
    ]


def _undo_app(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    el = state.elements.get(op["id"])
    if el is None or el["type"] != "stroke":
        return []
    return [{"k": "del", "ids": [el["id"]]}, {"k": "add", "el": copy_element(el)}]


def _undo_upd(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    el = state.elements.get(op["id"])
    if el is None:
        return []
    allowed = UPDATABLE[el["type"]]
    old: dict[str, Any] = {}
    if el["type"] in LINKED_TYPES and not GEOMETRY_KEYS.union(BINDING_KEYS).isdisjoint(op["set"]):
        # A rebound end moves: the old geometry comes back with the old binding.
        old.update((key, el[key]) for key in GEOMETRY_KEYS)
    for key, value in op["set"].items():
        if key == "style":
            style = el["style"]
            # An enumerated key the element lacks comes back as null: removed again.
            old["style"] = {k: style.get(k) for k in value if k in style or k in STYLE_ENUMS}
        elif key in allowed:
            old[key] = el.get(key)  # None: the key was absent, and null removes it again
    return [{"k": "upd", "id": el["id"], "set": old}] if old else []


def _undo_mov(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    ids = [el_id for el_id in dict.fromkeys(op["ids"]) if el_id in state.elements]
    return [{"k": "mov", "ids": ids, "dx": -op["dx"], "dy": -op["dy"]}] if ids else []


def _readd(state: BoardState, ids: list[str]) -> list[dict[str, Any]]:
    return [{"k": "add", "el": copy_element(state.elements[el_id])} for el_id in ids]


def _undo_del(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    named = set(op["ids"])
    removed = [el_id for el_id in state.elements if el_id in named]
    if not removed:
        return []
    return _readd(state, removed) + restore_z(state.elements, set(removed), MAX_IDS_PER_OP)


def _undo_clr(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _readd(state, list(state.elements))


def _undo_rst(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    els = [copy_element(el) for el in state.elements.values()]
    return [{"k": "rst", "from": state.seq, "els": els}]


_UNDO = {
    "add": _undo_add,
    "app": _undo_app,
    "upd": _undo_upd,
    "mov": _undo_mov,
    "del": _undo_del,
    "clr": _undo_clr,
    "rst": _undo_rst,
    "ord": undo_ord,
}


def inverse_op(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return the ops (without `i`; the client numbers them) that undo `op` applied to `state`.

    Applying `op` and then the returned ops, in order, gives back `state`'s elements (z-order
    aside, see the module docstring).
    """
    return _UNDO[op["k"]](state, op)
