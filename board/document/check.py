"""
Whether a validated op fits the board it is about to be sequenced on: check_op.

Refusals are OpRejected (the op contradicts the board) or BoardFull (a size budget), each with
the field path of what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.limits import COORD_MAX, TEXT_WRAP_MAX, Limits
from board.document.reducer import UPDATABLE
from board.document.state import BoardState, count_totals
from board.document.structure import check_bindings
from board.document.validate import ELEMENT_KEYS
from board.exceptions import BoardFull, OpRejected


def _reject(path: str, message: str) -> OpRejected:
    return OpRejected(f"{path}: {message}", extra={"field": path})


def _full(path: str, message: str, limit: int) -> BoardFull:
    # The message reads after "This board is full: " once the client strips `path: `.
    return BoardFull(f"{path}: {message}", extra={"field": path, "limit": limit})


def _points_full(limits: Limits, path: str) -> BoardFull:
    limit = limits.max_board_points
    return _full(path, f"its strokes would pass {limit:,} points, the most a board may have", limit)


def _text_full(limits: Limits, path: str) -> BoardFull:
    limit = limits.max_board_text_chars
    return _full(
        path, f"its text would pass {limit:,} characters, the most a board may have", limit
    )


# The budget checks below compare the op's own size with the state's running totals, inline:
# check_op runs for every op of every tick, and a helper call on the success path would more
# than double what the budget costs there (docs/performance.md).
# An op that adds nothing (`added > 0` fails) is never refused by a budget, so a board above
# it (an operator lowered it) can still be edited and cleaned up. Reading `state.elements`
# first builds a deferred state, and its totals with it.


def _check_add(state: BoardState, op: Mapping[str, Any], limits: Limits, where: str) -> None:
    el = op["el"]
    elements = state.elements
    if el["id"] in elements:
        raise _reject(where + ".el.id", f"element {el['id']!r} already exists")
    kind = el["type"]
    if "sb" in el or "eb" in el:
        check_bindings(elements, el["id"], el, where + ".el")
    added = len(el.get("p") or ()) // 2 if kind == "stroke" else 0
    if added > limits.max_points_per_stroke:
        limit = limits.max_points_per_stroke
        raise _full(where + ".el.p", f"stroke would exceed {limit:,} points", limit)
    if len(elements) >= limits.max_elements:
        limit = limits.max_elements
        raise _full(where + ".el", f"it has {limit:,} elements, the most a board may have", limit)
    if kind == "stroke":
        if added > 0 and state._points + added > limits.max_board_points:
            raise _points_full(limits, where + ".el.p")
    elif "text" in el:  # a text element, or a box shape's label
        added = len(el["text"])
        if added > 0 and state._text_chars + added > limits.max_board_text_chars:
            raise _text_full(limits, where + ".el.text")


def _check_app(state: BoardState, op: Mapping[str, Any], limits: Limits, where: str) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        raise _reject(where + ".id", f"no element {op['id']!r} on this board")
    if el["type"] != "stroke":
        raise _reject(where + ".id", f"element {op['id']!r} is a {el['type']}, not a stroke")
    if ("pr" in el) != ("pr" in op):
        need = "needs" if "pr" in el else "must not have"
        raise _reject(where + ".pr", f"stroke {op['id']!r} {need} pressure")
    added = len(op["p"]) // 2  # at least 1 (validate_op)
    if len(el.get("p") or ()) // 2 + added > limits.max_points_per_stroke:  # point_count
        limit = limits.max_points_per_stroke
        raise _full(where + ".p", f"stroke would exceed {limit:,} points", limit)
    if state._points + added > limits.max_board_points:
        raise _points_full(limits, where + ".p")


def _check_upd(state: BoardState, op: Mapping[str, Any], limits: Limits, where: str) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        raise _reject(where + ".id", f"no element {op['id']!r} on this board")
    changes = op["set"]
    allowed = UPDATABLE[el["type"]]
    for key, value in changes.items():
        if key not in allowed:
            raise _reject(f"{where}.set.{key}", f"a {el['type']} has no {key!r}")
        if value is None and key in ELEMENT_KEYS[el["type"]]:
            raise _reject(f"{where}.set.{key}", f"a {el['type']} must have {key!r}")
    if "sb" in changes or "eb" in changes:
        check_bindings(state.elements, el["id"], changes, where + ".set")
    wrap = changes.get("w")
    if el["type"] == "text" and wrap is not None and not 1 <= wrap <= TEXT_WRAP_MAX:
        raise _reject(f"{where}.set.w", f"out of range 1..{TEXT_WRAP_MAX}")
    if "text" in changes:  # a text or a label (checked above): only growth counts
        added = len(changes["text"] or "") - len(el.get("text") or "")
        if added > 0 and state._text_chars + added > limits.max_board_text_chars:
            raise _text_full(limits, where + ".set.text")


def _check_rst(op: Mapping[str, Any], limits: Limits, where: str) -> None:
    # A restore replaces the board: its elements alone must fit (server-issued, so O(els) is
    # fine; duplicate ids count once, as the reducer keeps the first).
    els = {el["id"]: el for el in reversed(op["els"])}
    if len(els) > limits.max_elements:
        limit = limits.max_elements
        raise _full(where + ".els", f"more than {limit:,} elements", limit)
    points, text_chars = count_totals(els.values())
    if points > limits.max_board_points:
        limit = limits.max_board_points
        raise _full(where + ".els", f"the strokes pass {limit:,} points", limit)
    if text_chars > limits.max_board_text_chars:
        limit = limits.max_board_text_chars
        raise _full(where + ".els", f"the text passes {limit:,} characters", limit)


def _check_mov(state: BoardState, op: Mapping[str, Any], where: str) -> None:
    dx, dy = op["dx"], op["dy"]
    for el_id in op["ids"]:
        el = state.elements.get(el_id)
        if el is not None and (abs(el["x"] + dx) > COORD_MAX or abs(el["y"] + dy) > COORD_MAX):
            raise _reject(where + ".dx", f"moves {el_id!r} beyond ±{COORD_MAX}")


def _check_ord(state: BoardState, op: Mapping[str, Any], where: str) -> None:
    # An `ord` above a missing or listed element would change nothing: the client's view is off.
    after = op["after"]
    if after is not None:
        if after not in state.elements:
            raise _reject(where + ".after", f"no element {after!r} on this board")
        if after in op["ids"]:
            raise _reject(where + ".after", f"element {after!r} is also in ids")


def check_op(
    state: BoardState, op: Mapping[str, Any], limits: Limits, *, where: str = "op"
) -> None:
    """
    Check a validated op against the board it is about to be sequenced on.

    Raises OpRejected (an `add` whose id exists, an `app`/`upd` naming a missing element or one
    of the wrong type) or BoardFull (`extra`: `field`, `limit`): the board's element count,
    a stroke's points, or the board's budgets of stroke points and text characters, against
    the state's running totals (O(1): this runs for every op on the hub's tick). The caller
    must apply each accepted op before checking the next one of the same batch.
    """
    kind = op["k"]
    if kind == "add":
        _check_add(state, op, limits, where)
    elif kind == "app":
        _check_app(state, op, limits, where)
    elif kind == "upd":
        _check_upd(state, op, limits, where)
    elif kind == "mov":
        _check_mov(state, op, where)
    elif kind == "rst":
        _check_rst(op, limits, where)
    elif kind == "ord":
        _check_ord(state, op, where)
