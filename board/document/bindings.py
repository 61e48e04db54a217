"""
Arrow bindings in the reducer: a line or arrow whose `sb`/`eb` names a box follows that box.

A bound endpoint is left + floor(width * fx / 1000), top + floor(height * fy / 1000) of the
target's unrotated box (left = min(x, x + w), width = |w|; the same for y, h), in integers so
that every replica (frontend/src/bindings.ts is the browser's copy) computes the same point.
The arrow is rewritten from its endpoints: start = (x, y), end = (x + w, y + h), the start
clamped to ±COORD_MAX and w, h to ±2·COORD_MAX (what validation allows an element).

Resolution runs after an op that changes a target's geometry (`add`, `mov`, `upd` of x/y/w/h,
`rst`), after an `add`/`upd` of the line or arrow itself, and after a `mov` of it (its bound
ends stay on their targets; clients unbind an end before moving an arrow away from it). A binding
whose target is missing or not bindable is kept and ignored, so undoing the target's delete
re-attaches the arrow. Resolution is idempotent: it depends only on the targets and on the
arrow's unbound endpoint, which it keeps.

The state keeps an index target id -> ids of the lines/arrows bound to it, so moving a shape
finds its arrows without scanning the board. It is built on first use and kept up to date by
the reducer; anything that replaces the state's elements drops it (BoardState.elements).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from board.document.limits import COORD_MAX
from board.document.state import BoardState, Element
from board.document.structure import ANCHOR_MAX, BINDABLE_TYPES, LINKED_TYPES

Index = dict[str, set[str]]

#: The keys of an `upd`'s set after which bound arrows are resolved again.
GEOMETRY_KEYS = frozenset({"x", "y", "w", "h"})
_LINK_KEYS = ("sb", "eb")


def _clamp(v: int, limit: int) -> int:
    return limit if v > limit else -limit if v < -limit else v


def anchor(target: Mapping[str, Any], binding: Mapping[str, Any]) -> tuple[int, int]:
    """
    The world point a binding stands for on `target` (a bindable element).
    """
    x, y, w, h = target["x"], target["y"], target["w"], target["h"]
    left = x + w if w < 0 else x
    top = y + h if h < 0 else y
    return left + abs(w) * binding["fx"] // ANCHOR_MAX, top + abs(h) * binding["fy"] // ANCHOR_MAX


def resolve(elements: Mapping[str, Element], arrow: Element) -> None:
    """
    Rewrite `arrow`'s x, y, w, h (in place) from whichever of its bindings have a target.
    """
    x1, y1 = arrow["x"], arrow["y"]
    x2, y2 = x1 + arrow["w"], y1 + arrow["h"]
    bound = False
    start = arrow.get("sb")
    if start is not None:
        target = elements.get(start["id"])
        if target is not None and target["type"] in BINDABLE_TYPES:
            x1, y1 = anchor(target, start)
            bound = True
    end = arrow.get("eb")
    if end is not None:
        target = elements.get(end["id"])
        if target is not None and target["type"] in BINDABLE_TYPES:
            x2, y2 = anchor(target, end)
            bound = True
    if bound:
        x1, y1 = _clamp(x1, COORD_MAX), _clamp(y1, COORD_MAX)
        arrow["x"], arrow["y"] = x1, y1
        arrow["w"], arrow["h"] = _clamp(x2 - x1, 2 * COORD_MAX), _clamp(y2 - y1, 2 * COORD_MAX)


def targets_of(el: Mapping[str, Any]) -> set[str]:
    """
    The ids `el` is bound to (empty unless a line or arrow with a binding).
    """
    return {el[key]["id"] for key in _LINK_KEYS if el.get(key) is not None}


def build_index(elements: Iterable[Mapping[str, Any]]) -> Index:
    index: Index = {}
    for el in elements:
        if el["type"] in LINKED_TYPES:
            for target in targets_of(el):
                index.setdefault(target, set()).add(el["id"])
    return index


def index_of(state: BoardState) -> Index:
    """
    The state's binding index, built now if it is not yet.
    """
    index = state._bound
    if index is None:
        index = state._bound = build_index(state.elements.values())
    return index


def link(state: BoardState, el: Mapping[str, Any]) -> None:
    """
    Record `el`'s bindings in the index (after it was added or its bindings changed).
    """
    if el["type"] in LINKED_TYPES:
        index = index_of(state)
        for target in targets_of(el):
            index.setdefault(target, set()).add(el["id"])


def unlink(state: BoardState, el: Mapping[str, Any]) -> None:
    """
    Forget `el`'s bindings in the index (before it is deleted or its bindings change).
    """
    if el["type"] in LINKED_TYPES and state._bound is not None:
        index = state._bound
        for target in targets_of(el):
            arrows = index.get(target)
            if arrows is not None:
                arrows.discard(el["id"])
                if not arrows:
                    del index[target]


def follow(state: BoardState, target_ids: Iterable[str]) -> None:
    """
    Resolve every arrow bound to any of `target_ids` (after their geometry changed).
    """
    index = index_of(state)
    if not index:
        return
    arrows: set[str] = set()
    for target in target_ids:
        bound = index.get(target)
        if bound:
            arrows |= bound
    elements = state.elements
    for arrow_id in arrows:  # order is irrelevant: each arrow depends on targets alone
        arrow = elements.get(arrow_id)
        if arrow is not None:
            resolve(elements, arrow)


def bound_to(state: BoardState, target_id: str) -> list[Element]:
    """
    The lines/arrows on the board bound to `target_id`, in z-order.
    """
    arrows = index_of(state).get(target_id)
    if not arrows:
        return []
    return [el for el_id, el in state.elements.items() if el_id in arrows]


def after_move(state: BoardState, ids: Iterable[str]) -> None:
    """
    After a `mov` of `ids`: arrows follow their moved targets, and a moved arrow's bound ends
    stay on their targets (only its free ends moved).
    """
    follow(state, ids)
    elements = state.elements
    for el_id in ids:
        el = elements.get(el_id)
        if el is not None and ("sb" in el or "eb" in el):
            resolve(elements, el)


def follow_all(state: BoardState) -> None:
    """
    Rebuild the index and resolve every bound arrow (after the board was replaced).
    """
    elements = state.elements
    index = state._bound = build_index(elements.values())
    for arrow_id in set().union(*index.values()) if index else ():
        resolve(elements, elements[arrow_id])
