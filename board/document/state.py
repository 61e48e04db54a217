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
from board.document.validate import SHAPE_TYPES
from board.exceptions import BoardFull, OpRejected
from board.points import point_count

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
    catch-up forwards the stored snapshot bytes instead (realtime.store), so a board that is
    only viewed is never decoded.
    """

    __slots__ = ("_build", "_elements", "_lock", "seq")

    def __init__(self, elements: dict[str, Element] | None = None, seq: int = 0) -> None:
        self._elements: dict[str, Element] = elements if elements is not None else {}
        self._build: Callable[[], dict[str, Element]] | None = None
        self._lock: threading.Lock | None = None
        self.seq = seq

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
        if self._lock is None:
            self._elements = value
            return
        with self._lock:  # a build running in another thread finishes first, then is replaced
            self._build = None
            self._elements = value

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
                self._elements = build()
                self._build = None

    @property
    def element_count(self) -> int:
        return len(self.elements)

    @property
    def total_points(self) -> int:
        return sum(point_count(el) for el in self.elements.values() if el["type"] == "stroke")

    def copy(self) -> BoardState:
        return BoardState({k: copy_element(el) for k, el in self.elements.items()}, self.seq)

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
        for el in data["els"]:
            elements.setdefault(el["id"], el)
        return cls(elements, int(data["s"]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoardState):
            return NotImplemented
        return self.seq == other.seq and list(self.elements.items()) == list(other.elements.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._build is not None:
            return f"<BoardState seq={self.seq} deferred>"
        return f"<BoardState seq={self.seq} elements={len(self._elements)}>"


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


def _add(state: BoardState, op: Mapping[str, Any]) -> None:
    el = op["el"]
    if el["id"] not in state.elements:
        state.elements[el["id"]] = copy_element(el)


def _app(state: BoardState, op: Mapping[str, Any]) -> None:
    el = state.elements.get(op["id"])
    if el is None or el["type"] != "stroke":
        return
    points = el.setdefault("p", [])
    points.extend(op["p"])
    if "pr" in el:
        el["pr"].extend(op.get("pr") or [DEFAULT_PRESSURE] * (len(op["p"]) // 2))


def _upd(state: BoardState, op: Mapping[str, Any]) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        return
    allowed = UPDATABLE.get(el["type"], frozenset())
    for key, value in op["set"].items():
        if key == "style":
            el["style"] = {**el["style"], **value}
        elif key in allowed:
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
    for el_id in op["ids"]:
        state.elements.pop(el_id, None)


def _clr(state: BoardState, op: Mapping[str, Any]) -> None:
    state.elements.clear()


def _rst(state: BoardState, op: Mapping[str, Any]) -> None:
    state.elements = {}
    for el in op["els"]:
        if el["id"] not in state.elements:
            state.elements[el["id"]] = copy_element(el)


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


def _check_app(state: BoardState, op: Mapping[str, Any], limits: Limits, where: str) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        raise _reject(where + ".id", f"no element {op['id']!r} on this board")
    if el["type"] != "stroke":
        raise _reject(where + ".id", f"element {op['id']!r} is a {el['type']}, not a stroke")
    if ("pr" in el) != ("pr" in op):
        need = "needs" if "pr" in el else "must not have"
        raise _reject(where + ".pr", f"stroke {op['id']!r} {need} pressure")
    if point_count(el) + len(op["p"]) // 2 > limits.max_points_per_stroke:
        raise BoardFull(
            f"{where}.p: stroke would exceed {limits.max_points_per_stroke} points",
            extra={"field": where + ".p"},
        )


def _check_upd(state: BoardState, op: Mapping[str, Any], where: str) -> None:
    el = state.elements.get(op["id"])
    if el is None:
        raise _reject(where + ".id", f"no element {op['id']!r} on this board")
    allowed = UPDATABLE[el["type"]]
    for key in op["set"]:
        if key not in allowed:
            raise _reject(f"{where}.set.{key}", f"a {el['type']} has no {key!r}")


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
    of the wrong type) or BoardFull (element or stroke-point limits). The caller must apply each
    accepted op before checking the next one of the same batch.
    """
    kind = op["k"]
    if kind == "add":
        el_id = op["el"]["id"]
        if el_id in state.elements:
            raise _reject(where + ".el.id", f"element {el_id!r} already exists")
        if len(state.elements) >= limits.max_elements:
            raise BoardFull(f"{where}: board is full ({limits.max_elements} elements)")
    elif kind == "app":
        _check_app(state, op, limits, where)
    elif kind == "upd":
        _check_upd(state, op, where)
    elif kind == "mov":
        _check_mov(state, op, where)
    elif kind == "rst" and len(op["els"]) > limits.max_elements:
        raise BoardFull(f"{where}.els: more than {limits.max_elements} elements")
