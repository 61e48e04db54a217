"""
Z-order: the `ord` op (docs/protocol.md §3.2, §3.3) and the ops that put elements back in place.

`{"k": "ord", "ids": [...], "after": id | null}` takes the listed elements that are on the board
out and puts them back, in their previous relative order, directly above `after` (null: at the
very bottom). If `after` is not on the board or is itself listed, nothing changes. Bring to
front, forward, backward and to back are all computed by the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from board.document.state import BoardState, Element


def reorder(elements: dict[str, Element], ids: Sequence[str], after: str | None) -> None:
    """
    Apply an `ord` to `elements` in place (the same elements: the board's totals still hold).
    """
    named = {el_id for el_id in ids if el_id in elements}
    if not named or (after is not None and (after not in elements or after in ids)):
        return
    moved = [(k, v) for k, v in elements.items() if k in named]
    rest = [(k, v) for k, v in elements.items() if k not in named]
    elements.clear()
    if after is None:
        elements.update(moved)
    for k, v in rest:
        elements[k] = v
        if k == after:
            elements.update(moved)


def apply_ord(state: BoardState, op: Mapping[str, Any]) -> None:
    reorder(state.elements, op["ids"], op["after"])


def _predecessors(elements: Mapping[str, Element]) -> dict[str, str | None]:
    below: str | None = None
    out: dict[str, str | None] = {}
    for el_id in elements:
        out[el_id] = below
        below = el_id
    return out


def undo_ord(state: BoardState, op: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    One `ord` per element the op moves, bottom to top, each after its old predecessor.
    """
    elements = state.elements
    after = op["after"]
    if after is not None and (after not in elements or after in op["ids"]):
        return []
    named = set(op["ids"])
    below = _predecessors(elements)
    return [
        {"k": "ord", "ids": [el_id], "after": below[el_id]} for el_id in elements if el_id in named
    ]


def restore_z(
    elements: Mapping[str, Element], removed: set[str], max_ids: int
) -> list[dict[str, Any]]:
    """
    The `ord` ops that put `removed` (re-added on top, in their old relative order) back where
    they were in `elements`: one per run of consecutive removed elements (split at `max_ids`),
    each above the element that was below the run, bottom to top.
    """
    out: list[dict[str, Any]] = []
    below: str | None = None
    run: list[str] = []
    anchor: str | None = None
    for el_id in elements:
        if el_id in removed:
            if not run:
                anchor = below
            run.append(el_id)
            if len(run) == max_ids:
                out.append({"k": "ord", "ids": run, "after": anchor})
                anchor, run = el_id, []
        elif run:
            out.append({"k": "ord", "ids": run, "after": anchor})
            run = []
        below = el_id
    if run:  # the top run too: elements added since the removal stay above it, as before
        out.append({"k": "ord", "ids": run, "after": anchor})
    return out
