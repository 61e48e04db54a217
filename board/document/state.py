"""
The board state and its reducer: how a sequence of ops becomes a board.

`apply_in_place` is TOTAL and deterministic. Ops are validated against the board (check_op) when
they are sequenced, but two processes may validate against states that differ by the other's
not-yet-seen ops, so by the time an op is applied it may no longer fit: its element was deleted,
its id was taken, the element was replaced by one of another type. Such an op (or the part of it
that no longer fits) is a no-op, never an error; every replica that applies the same log in `seq`
order therefore reaches the same state, whichever process validated what.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from board.document.limits import COORD_MAX, Limits
from board.document.points import point_count
from board.document.validate import SHAPE_TYPES
from board.exceptions import BoardFull, OpRejected

#: Snapshot format version (the `v` of a stored snapshot).
SNAPSHOT_VERSION = 1
#: Pressure given to appended points of a pressure stroke when an op lacks it (only possible
#: when the element was replaced under the op; see the module docstring).
DEFAULT_PRESSURE = 50

#: Fields an `upd` may set, per element type.
UPDATABLE: dict[str, frozenset[str]] = {
    "stroke": frozenset({"style", "x", "y"}),
    "text": frozenset({"style", "x", "y", "text", "size"}),
    **{t: frozenset({"style", "x", "y", "w", "h"}) for t in SHAPE_TYPES},
}

Element = dict[str, Any]


class BoardState:
    """
    A board: an ordered map id -> element (wire form, z-order = insertion order) and its `seq`.

    Mutable on purpose: the hub keeps one per live board and applies every tick's ops in place;
    copying 50k elements per tick is what an immutable map would cost. Use `copy()` or `apply()`
    when an independent state is needed.

    A state may be `deferred`: its seq is known, its elements are built on first use. Loading a
    big board then costs no decoding until something reads it (the first op to validate); a
    catch-up forwards the stored snapshot bytes instead (realtime.engine.store), so a board that is
    only viewed is never decoded.

    It keeps two running totals, `total_points` (every stroke point) and `total_text_chars`
    (every character of text elements), for check_op's board budgets: summing them per op
    would cost O(board) on the hot path. Counted once when the elements arrive (constructor,
    snapshot, deferred build, assigning `elements`), then moved by every reducer. Changing
    `elements` in place by other means leaves them stale: assign the map instead (or call
    `recount()`).
    """

    __slots__ = ("_build", "_elements", "_lock", "_points", "_text_chars", "seq")

    def __init__(self, elements: dict[str, Element] | None = None, seq: int = 0) -> None:
        self._elements: dict[str, Element] = elements if elements is not None else {}
        self._build: Callable[[], dict[str, Element]] | None = None
        self._lock: threading.Lock | None = None
        self.seq = seq
        self._points, self._text_chars = _totals(self._elements.values())

    @classmethod
    def _adopt(
        cls, elements: dict[str, Element], seq: int, points: int, text_chars: int
    ) -> BoardState:
        """
        A state of `elements` whose totals the caller already counted (no second pass).
        """
        state = cls(None, seq)
        state._elements, state._points, state._text_chars = elements, points, text_chars
        return state

    @classmethod
    def deferred(cls, seq: int, build: Callable[[], dict[str, Element]]) -> BoardState:
        """
        A state at `seq` whose elements are `build()`, called once, on first access.
        """
        state = cls(None, seq)
        state._build, state._lock = build, threading.Lock()
        return state

    @property
    def elements(self) -> dict[str, Element]:
        if self._build is not None:
            self._materialize()
        return self._elements

    @elements.setter
    def elements(self, value: dict[str, Element]) -> None:
        totals = _totals(value.values())
        if self._lock is None:
            self._elements = value
            self._points, self._text_chars = totals
            return
        with self._lock:  # a build running in another thread finishes first, then is replaced
            self._build = None
            self._elements = value
            self._points, self._text_chars = totals

    @property
    def is_deferred(self) -> bool:
        """
        True while the elements are not built yet.
        """
        return self._build is not None

    def materialize(self) -> None:
        """
        Build the elements now if they are deferred (the hub does it in a reader thread right
        after a load, so the board's first op finds them built instead of stalling the loop).
        """
        if self._build is not None:
            self._materialize()

    def _materialize(self) -> None:
        # The lock makes a second thread wait for the first build rather than run its own.
        assert self._lock is not None, "a deferred state always has a lock"
        with self._lock:
            build = self._build
            if build is not None:
                elements = build()
                # Once per load, next to a decode that costs 20-40x more (measured: 6.5 ms
                # against 150-300 ms for 50k strokes).
                self._points, self._text_chars = _totals(elements.values())
                self._elements = elements
                self._build = None

    @property
    def element_count(self) -> int:
        return len(self.elements)

    @property
    def total_points(self) -> int:
        """
        Points of every stroke on the board (the running total: O(1)).
        """
        self.materialize()
        return self._points

    @property
    def total_text_chars(self) -> int:
        """
        Characters (code points) of every text element on the board (the running total: O(1)).
        """
        self.materialize()
        return self._text_chars

    def recount(self) -> None:
        """
        Count the totals again from the elements (after changing `elements` in place).
        """
        self._points, self._text_chars = _totals(self.elements.values())

    def copy(self) -> BoardState:
        elements = {k: copy_element(el) for k, el in self.elements.items()}
        return BoardState._adopt(elements, self.seq, self._points, self._text_chars)

    def to_snapshot(self) -> dict[str, Any]:
        """
        Return {"v": 1, "s": seq, "els": [...]} in z-order; the elements are shared, not copied.
        """
        return {"v": SNAPSHOT_VERSION, "s": self.seq, "els": list(self.elements.values())}

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> BoardState:
        """
        Build a state from a decoded snapshot; takes ownership of its element maps.
        """
        if data.get("v") != SNAPSHOT_VERSION:
            raise ValueError(f"Unsupported snapshot version {data.get('v')!r}; expected 1.")
        elements: dict[str, Element] = {}
        points = text_chars = 0
        for el in data["els"]:
            if el["id"] not in elements:  # duplicate ids: the first wins, as in `rst`
                elements[el["id"]] = el
                points += _points_of(el)
                text_chars += _text_chars_of(el)
        return cls._adopt(elements, int(data["s"]), points, text_chars)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoardState):
            return NotImplemented
        return self.seq == other.seq and list(self.elements.items()) == list(other.elements.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._build is not None:
            return f"<BoardState seq={self.seq} deferred>"
        return f"<BoardState seq={self.seq} elements={len(self._elements)}>"


def _points_of(el: Mapping[str, Any]) -> int:
    """
    What an element adds to `BoardState.total_points`.
    """
    return point_count(el) if el["type"] == "stroke" else 0


def _text_chars_of(el: Mapping[str, Any]) -> int:
    """
    What an element adds to `BoardState.total_text_chars`.
    """
    return len(el.get("text") or "") if el["type"] == "text" else 0


def _totals(elements: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """
    (stroke points, text characters) of `elements`, counted from scratch.
    """
    points = text_chars = 0
    for el in elements:
        kind = el["type"]
        if kind == "stroke":
            points += point_count(el)
        elif kind == "text":
            text_chars += len(el.get("text") or "")
    return points, text_chars


def copy_element(el: Mapping[str, Any]) -> Element:
    """
    Copy an element deeply enough that mutating the copy never touches the original.
    """
    out = dict(el)
    out["style"] = dict(el["style"])
    if "p" in out:
        out["p"] = list(out["p"])
    if "pr" in out:
        out["pr"] = list(out["pr"])
    return out


def _clamp(v: int) -> int:
    return COORD_MAX if v > COORD_MAX else -COORD_MAX if v < -COORD_MAX else v


# Each reducer keeps the state's totals in step with what it does to the elements (the
# property test in tests/board/test_budget.py recounts after every op of random logs).


def _add(state: BoardState, op: Mapping[str, Any]) -> None:
    el = op["el"]
    elements = state.elements
    if el["id"] not in elements:
        new = elements[el["id"]] = copy_element(el)
        kind = new["type"]  # _points_of and _text_chars_of, inline (hot path)
        if kind == "stroke":
            state._points += len(new.get("p") or ()) // 2
        elif kind == "text":
            state._text_chars += len(new.get("text") or "")


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
    allowed = UPDATABLE.get(el["type"], frozenset())
    for key, value in op["set"].items():
        if key == "style":
            el["style"] = {**el["style"], **value}
        elif key in allowed:
            if key == "text":  # only a text element has it
                state._text_chars += len(value) - len(el.get("text") or "")
            el[key] = value


def _mov(state: BoardState, op: Mapping[str, Any]) -> None:
    dx, dy = op["dx"], op["dy"]
    # dict.fromkeys: an id named twice moves once, as a client selecting it twice would expect.
    for el_id in dict.fromkeys(op["ids"]):
        el = state.elements.get(el_id)
        if el is not None:
            el["x"] = _clamp(el["x"] + dx)
            el["y"] = _clamp(el["y"] + dy)


def _del(state: BoardState, op: Mapping[str, Any]) -> None:
    elements = state.elements
    for el_id in op["ids"]:
        el = elements.pop(el_id, None)
        if el is not None:
            state._points -= _points_of(el)
            state._text_chars -= _text_chars_of(el)


def _clr(state: BoardState, op: Mapping[str, Any]) -> None:
    state.elements.clear()
    state._points = state._text_chars = 0


def _rst(state: BoardState, op: Mapping[str, Any]) -> None:
    elements: dict[str, Element] = {}
    for el in op["els"]:
        if el["id"] not in elements:
            elements[el["id"]] = copy_element(el)
    state.elements = elements  # counts the totals afresh


_REDUCERS: dict[str, Callable[[BoardState, Mapping[str, Any]], None]] = {
    "add": _add,
    "app": _app,
    "upd": _upd,
    "mov": _mov,
    "del": _del,
    "clr": _clr,
    "rst": _rst,
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
# check_op runs for every op of every tick, and a helper call on the success path more than
# doubled what the budget costs there (+12 % per op instead of +5 %; docs/document-model.md).
# An op that adds nothing (`added > 0` fails) is never refused by a budget, so a board above
# it (an operator lowered it) can still be edited and cleaned up. Reading `state.elements`
# first builds a deferred state, and its totals with it.


def _check_add(state: BoardState, op: Mapping[str, Any], limits: Limits, where: str) -> None:
    el = op["el"]
    elements = state.elements
    if el["id"] in elements:
        raise _reject(where + ".el.id", f"element {el['id']!r} already exists")
    kind = el["type"]
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
    elif kind == "text":
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
    for key in changes:
        if key not in allowed:
            raise _reject(f"{where}.set.{key}", f"a {el['type']} has no {key!r}")
    if "text" in changes:  # a text element (checked above): only growth counts
        added = len(changes["text"]) - len(el.get("text") or "")
        if added > 0 and state._text_chars + added > limits.max_board_text_chars:
            raise _text_full(limits, where + ".set.text")


def _check_rst(op: Mapping[str, Any], limits: Limits, where: str) -> None:
    # A restore replaces the board: its elements alone must fit (server-issued, so O(els) is
    # fine; duplicate ids count once, as the reducer keeps the first).
    els = {el["id"]: el for el in reversed(op["els"])}
    if len(els) > limits.max_elements:
        limit = limits.max_elements
        raise _full(where + ".els", f"more than {limit:,} elements", limit)
    points, text_chars = _totals(els.values())
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
