"""
Undo: the ops that revert an op, computed from the state before it.

Clients keep undo/redo stacks of these (frontend mirrors this module); the server never applies
them itself, they come back as ordinary ops. Undo is expressed with the protocol's own op kinds,
so it is only as exact as they allow:

* undoing `del`/`clr` re-adds the elements in their old relative order but on top of everything
  added since (there is no "insert at z"); undoing `app` re-creates the whole stroke (del + add),
  which also moves it to the top. A client that groups a stroke's add + apps into one undo step
  (the usual case) gets an exact `del`.
* an op that was a no-op (stale id) has an empty inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.reducer import UPDATABLE
from board.document.state import BoardState, copy_element


def _undo_add(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    el_id = op["el"]["id"]
    return [] if el_id in state.elements else [{"k": "del", "ids": [el_id]}]


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
    for key, value in op["set"].items():
        if key == "style":
            old["style"] = {k: el["style"][k] for k in value if k in el["style"]}
        elif key in allowed:
            old[key] = el[key]
    return [{"k": "upd", "id": el["id"], "set": old}] if old else []


def _undo_mov(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    ids = [el_id for el_id in dict.fromkeys(op["ids"]) if el_id in state.elements]
    return [{"k": "mov", "ids": ids, "dx": -op["dx"], "dy": -op["dy"]}] if ids else []


def _readd(state: BoardState, ids: list[str]) -> list[dict[str, Any]]:
    return [{"k": "add", "el": copy_element(state.elements[el_id])} for el_id in ids]


def _undo_del(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    named = set(op["ids"])
    return _readd(state, [el_id for el_id in state.elements if el_id in named])


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
}


def inverse_op(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return the ops (without `i`; the client numbers them) that undo `op` applied to `state`.

    Applying `op` and then the returned ops, in order, gives back `state`'s elements (z-order
    aside, see the module docstring).
    """
    return _UNDO[op["k"]](state, op)
