"""
The board state: an ordered map of elements, its seq, and its running size totals.

How ops change it is board.document.reducer; whether an op fits it, board.document.check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from board.document.points import point_count

#: Snapshot format version (the `v` of a stored snapshot).
SNAPSHOT_VERSION = 1

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
    `recount()`); the same holds for the index of arrow bindings. The reducers
    (board.document.reducer) and check_op (board.document.check) read and move `_points` and
    `_text_chars` directly: they are the package's hot path.
    """

    __slots__ = ("_bound", "_build", "_elements", "_lock", "_points", "_text_chars", "seq")

    def __init__(self, elements: dict[str, Element] | None = None, seq: int = 0) -> None:
        self._elements: dict[str, Element] = elements if elements is not None else {}
        self._build: Callable[[], dict[str, Element]] | None = None
        self._lock: threading.Lock | None = None
        self.seq = seq
        self._points, self._text_chars = count_totals(self._elements.values())
        #: Target id -> lines/arrows bound to it (board.document.bindings), built on first use.
        self._bound: dict[str, set[str]] | None = None

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
        totals = count_totals(value.values())
        self._bound = None
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
                # Once per load, next to a decode that costs far more (docs/document-model.md).
                self._points, self._text_chars = count_totals(elements.values())
                self._elements = elements
                self._bound = None
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
        self._points, self._text_chars = count_totals(self.elements.values())
        self._bound = None

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
                points += points_of(el)
                text_chars += text_chars_of(el)
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


def points_of(el: Mapping[str, Any]) -> int:
    """
    What an element adds to `BoardState.total_points`.
    """
    return point_count(el) if el["type"] == "stroke" else 0


def text_chars_of(el: Mapping[str, Any]) -> int:
    """
    What an element adds to `BoardState.total_text_chars` (a text's or a box shape's label).
    """
    return len(el.get("text") or "")


def count_totals(elements: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """
    (stroke points, text characters) of `elements`, counted from scratch.
    """
    points = text_chars = 0
    for el in elements:
        kind = el["type"]
        if kind == "stroke":
            points += point_count(el)
        else:  # a text element, or a box shape's label
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
