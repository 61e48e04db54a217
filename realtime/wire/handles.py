"""
Protocol v2 on the server side: a room's handle table and its `DOWN_OPS` frames (protocol §2.5).

A room encodes each delivery once for all its v2 sockets. Authors, strokes and styles are named by
handles from a small recycled table, so a handle is one varint byte, and a frame defines inline the
names it introduces. A v2 socket gets the whole table in a `DEFS` frame when its live stream starts
(realtime.engine.catchup); from then on it receives every frame the room encodes, so it knows what
the table knows and the send path does no per-socket work for handles. The same holds for
continuations: an append that follows its author's previous stroke entry (op id + 1, same element)
goes as a tag-3 entry of author handle and points only, and a socket going live gets the table's
continuations in a `CONT` frame after its `DEFS`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgpack

from realtime.wire import compact
from realtime.wire.protocol import DEFAULT_MAX_POINTS_PER_OP

#: Handles 0..MAX_HANDLES-1: one varint byte each; the least recently used name gives its handle
#: up. 128 names hold every author and stroke in flight in a 200-socket room.
MAX_HANDLES = 128
#: The keys an entry may have to be sent compact (anything else goes as v1 bytes), and the same
#: for the op it was made from (the log adds `s`, `c` and `u`).
_APP_KEYS = frozenset({"s", "c", "u", "i", "k", "id", "p", "pr"})
_APP_OP_KEYS = frozenset({"i", "k", "id", "p", "pr"})
_ADD_KEYS = frozenset({"s", "c", "u", "i", "k", "el"})
_ADD_OP_KEYS = frozenset({"i", "k", "el"})
_STROKE_KEYS = frozenset({"id", "type", "x", "y", "style", "p", "pr"})
#: (author client id, op) per entry, when the caller knows them (local commits).
Authored = Sequence[tuple[str, Mapping[str, Any]]]


class HandleTable:
    """
    Name → handle, least recently used first; and each author handle's continuation (the op id
    and element of its last stroke entry), which a tag-3 entry continues.
    """

    __slots__ = ("_by_name", "conts")

    def __init__(self) -> None:
        self._by_name: OrderedDict[str, int] = OrderedDict()
        self.conts: compact.Conts = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def assign(self, name: str, pinned: set[int]) -> tuple[int, bool] | None:
        """
        The handle of `name` and whether it is new (or recycled); None when every handle is
        pinned (used by the frame being encoded, so it cannot change meaning within it).
        """
        table = self._by_name
        handle = table.get(name)
        if handle is not None:
            table.move_to_end(name)
            return handle, False
        if len(table) < MAX_HANDLES:
            handle = len(table)
        else:
            oldest = next(iter(table))
            if table[oldest] in pinned:
                return None
            handle = table.pop(oldest)
        table[name] = handle
        self.conts.pop(handle, None)  # a receiver clears it on the definition, too
        return handle, True

    def definitions(self) -> list[tuple[int, str]]:
        """
        Every (handle, name) of the table.
        """
        return [(h, name) for name, h in self._by_name.items()]

    def continuations(self) -> list[tuple[int, int, str]]:
        """
        Every (author handle, op id, element) continuation.
        """
        return [(h, i, element) for h, (i, element) in self.conts.items()]


def encode_delivery(
    table: HandleTable,
    first_seq: int,
    entries: Sequence[bytes],
    authored: Authored | None = None,
    names: list[tuple[int, str, bool]] | None = None,
    max_points: int = DEFAULT_MAX_POINTS_PER_OP,
) -> bytes:
    """
    The DOWN_OPS frame of contiguous entries starting at `first_seq`: stroke appends and adds
    compact, everything else as its v1 bytes. `authored`, aligned with `entries`, spares
    decoding them; `names`, if given, receives (handle, name, defined inline) for every handle
    the frame uses (for benchmarks and tests). A stroke `add` goes compact only with 1 to
    `max_points` points (limits.max_points_per_op: what a points block may hold); a pasted or
    restored stroke of more, or of none, goes as its v1 bytes.
    """
    pinned: set[int] = set()
    defined: list[tuple[int, str]] = []
    body: list[bytes] = []

    def handle(name: str) -> int | None:
        got = table.assign(name, pinned)
        if got is None:
            return None
        h, new = got
        if h not in pinned:
            pinned.add(h)
            if new:
                defined.append((h, name))
            if names is not None:
                names.append((h, name, new))
        return h

    conts = table.conts
    if authored is not None:
        for entry, (c, op) in zip(entries, authored, strict=True):
            got = _authored_entry(c, op, handle, conts, max_points)
            body.append(got or compact.v1_entry(entry))
    else:
        for entry in entries:
            body.append(_app_entry(entry, handle, conts, max_points) or compact.v1_entry(entry))
    return compact.ops_head(first_seq, defined, len(entries)) + b"".join(body)


Handle = Callable[[str], int | None]


def _app_entry(entry: bytes, handle: Handle, conts: compact.Conts, max_points: int) -> bytes | None:
    # A cheap look at the kind before decoding: only stroke appends and adds are worth it.
    if b"\xa1k\xa3app" in entry:
        op = msgpack.unpackb(entry)
        c = op.get("c")
        if op.get("k") != "app" or not op.keys() <= _APP_KEYS or not isinstance(c, str):
            return None
        return _compact_app(c, op, handle, conts)
    if b"\xa1k\xa3add" in entry and b"\xa6stroke" in entry:
        op = msgpack.unpackb(entry)
        c = op.get("c")
        if op.get("k") != "add" or not op.keys() <= _ADD_KEYS or not isinstance(c, str):
            return None
        return _compact_add(c, op, handle, conts, max_points)
    return None


def _authored_entry(
    c: str, op: Mapping[str, Any], handle: Handle, conts: compact.Conts, max_points: int
) -> bytes | None:
    kind = op["k"]
    if kind == "app" and op.keys() <= _APP_OP_KEYS:
        return _compact_app(c, op, handle, conts)
    if kind == "add" and op.keys() <= _ADD_OP_KEYS:
        return _compact_add(c, op, handle, conts, max_points)
    return None


def _compact_add(
    c: str, op: Mapping[str, Any], handle: Handle, conts: compact.Conts, max_points: int
) -> bytes | None:
    el = op.get("el")
    if not isinstance(el, dict) or el.get("type") != "stroke" or not el.keys() <= _STROKE_KEYS:
        return None
    if not 0 < len(el["p"]) <= 2 * max_points:
        return None
    element, style = el.get("id"), el.get("style")
    if not isinstance(element, str) or not isinstance(style, dict):
        return None
    author = handle(c)
    target = handle(element) if author is not None else None
    look = handle(compact.style_name(style)) if target is not None else None
    if author is None or target is None or look is None:
        return None
    conts[author] = (op["i"], element)
    return compact.add_entry(author, op["i"], target, el["x"], el["y"], look, el["p"], el.get("pr"))


def _compact_app(
    c: str, op: Mapping[str, Any], handle: Handle, conts: compact.Conts
) -> bytes | None:
    element, i = op.get("id"), op["i"]
    if not isinstance(element, str):
        return None
    author = handle(c)
    if author is None:
        return None
    # The author's previous stroke entry was op i - 1 on this element: tag 3 names neither.
    if conts.get(author) == (i - 1, element):
        conts[author] = (i, element)
        return compact.next_entry(author, op["p"], op.get("pr"))
    target = handle(element)
    if target is None:
        return None
    conts[author] = (i, element)
    return compact.app_entry(author, i, target, op["p"], op.get("pr"))
