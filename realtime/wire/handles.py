"""
Protocol v2's frames to the client: a room's handle table and the `DOWN_OPS`, `DEFS` and `CONT`
frames made with it (protocol §2.5).

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

from realtime.wire.codec import DEFAULT_MAX_POINTS_PER_OP, Authored
from realtime.wire.compact import (
    DOWN_CONT,
    DOWN_DEFS,
    DOWN_OPS,
    DOWN_TENT,
    ENTRY_ADD,
    ENTRY_APP,
    ENTRY_NEXT,
    ENTRY_V1,
    Conts,
    put_points,
    put_string,
    put_varint,
    style_name,
    zigzag,
)

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


class HandleTable:
    """
    Name → handle, least recently used first; and each author handle's continuation (the op id
    and element of its last stroke entry), which a tag-3 entry continues.
    """

    __slots__ = ("_by_name", "conts")

    def __init__(self) -> None:
        self._by_name: OrderedDict[str, int] = OrderedDict()
        self.conts: Conts = {}

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
    handle, defined = _frame_handles(table, names)
    body: list[bytes] = []
    conts = table.conts
    if authored is not None:
        for entry, (c, op) in zip(entries, authored, strict=True):
            got = _authored_entry(c, op, handle, conts, max_points)
            body.append(got or v1_entry(entry))
    else:
        for entry in entries:
            body.append(_app_entry(entry, handle, conts, max_points) or v1_entry(entry))
    return ops_head(first_seq, defined, len(entries)) + b"".join(body)


def encode_tentatives(
    table: HandleTable,
    ops: Sequence[tuple[str, int | None, Mapping[str, Any]]],
    max_points: int = DEFAULT_MAX_POINTS_PER_OP,
) -> bytes:
    """
    The DOWN_TENT frame (§2.6, `tentative=2`) of (author client id, author user id, op) in log
    order: stroke appends and adds as DOWN_OPS entries, anything else as a tag-0 entry holding
    the op with its `c` and `u`, so that promoted it is the log entry less its `s`.
    """
    handle, defined = _frame_handles(table, None)
    conts = table.conts
    body: list[bytes] = []
    for c, u, op in ops:
        got = _authored_entry(c, op, handle, conts, max_points)
        body.append(got or v1_entry(msgpack.packb({**op, "c": c, "u": u})))
    out = bytearray((DOWN_TENT,))
    _put_defs(out, defined)
    put_varint(out, len(ops))
    return bytes(out) + b"".join(body)


Handle = Callable[[str], int | None]


def _frame_handles(
    table: HandleTable, names: list[tuple[int, str, bool]] | None
) -> tuple[Handle, list[tuple[int, str]]]:
    """
    The handle lookup for one frame, and the definitions it collects (what the frame must define
    inline): a handle used by the frame is pinned, so no later name of the frame recycles it.
    """
    pinned: set[int] = set()
    defined: list[tuple[int, str]] = []

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

    return handle, defined


def _app_entry(entry: bytes, handle: Handle, conts: Conts, max_points: int) -> bytes | None:
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
    c: str, op: Mapping[str, Any], handle: Handle, conts: Conts, max_points: int
) -> bytes | None:
    kind = op["k"]
    if kind == "app" and op.keys() <= _APP_OP_KEYS:
        return _compact_app(c, op, handle, conts)
    if kind == "add" and op.keys() <= _ADD_OP_KEYS:
        return _compact_add(c, op, handle, conts, max_points)
    return None


def _compact_add(
    c: str, op: Mapping[str, Any], handle: Handle, conts: Conts, max_points: int
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
    look = handle(style_name(style)) if target is not None else None
    if author is None or target is None or look is None:
        return None
    conts[author] = (op["i"], element)
    return add_entry(author, op["i"], target, el["x"], el["y"], look, el["p"], el.get("pr"))


def _compact_app(c: str, op: Mapping[str, Any], handle: Handle, conts: Conts) -> bytes | None:
    element, i = op.get("id"), op["i"]
    if not isinstance(element, str):
        return None
    author = handle(c)
    if author is None:
        return None
    # The author's previous stroke entry was op i - 1 on this element: tag 3 names neither.
    if conts.get(author) == (i - 1, element):
        conts[author] = (i, element)
        return next_entry(author, op["p"], op.get("pr"))
    target = handle(element)
    if target is None:
        return None
    conts[author] = (i, element)
    return app_entry(author, i, target, op["p"], op.get("pr"))


# --- frame and entry layouts ------------------------------------------------------------------


def _put_defs(out: bytearray, defs: Sequence[tuple[int, str]]) -> None:
    put_varint(out, len(defs))
    for handle, text in defs:
        put_varint(out, handle)
        put_string(out, text)


def encode_defs(defs: Sequence[tuple[int, str]]) -> bytes:
    """
    DOWN_DEFS frame: 0x03, varint(n), n x (varint(handle), varint(len), utf-8 string).
    """
    out = bytearray((DOWN_DEFS,))
    _put_defs(out, defs)
    return bytes(out)


def encode_cont(conts: Sequence[tuple[int, int, str]]) -> bytes:
    """
    DOWN_CONT frame: 0x06, varint(n), n x (varint(author handle), varint(i), string(element)).
    """
    out = bytearray((DOWN_CONT,))
    put_varint(out, len(conts))
    for author, i, element in conts:
        put_varint(out, author)
        put_varint(out, i)
        put_string(out, element)
    return bytes(out)


def ops_head(first_seq: int, defs: Sequence[tuple[int, str]], n: int) -> bytes:
    """
    Head of a DOWN_OPS frame: 0x02, varint(first seq), the inline definitions, varint(entries).
    """
    out = bytearray((DOWN_OPS,))
    put_varint(out, first_seq)
    _put_defs(out, defs)
    put_varint(out, n)
    return bytes(out)


def v1_entry(entry: bytes) -> bytes:
    """
    An entry carried as its v1 msgpack bytes: tag 0, varint(len), the bytes.
    """
    out = bytearray((ENTRY_V1,))
    put_varint(out, len(entry))
    return bytes(out) + entry


def app_entry(
    author: int, i: int, element: int, p: Sequence[int], pr: Sequence[int] | None = None
) -> bytes:
    """
    A stroke append: tag 1, varint(author handle), varint(i), varint(element handle), points.
    """
    out = bytearray((ENTRY_APP,))
    for n in (author, i, element):
        if n < 0x80:
            out.append(n)
        else:
            put_varint(out, n)
    put_points(out, p, pr)
    return bytes(out)


def next_entry(author: int, p: Sequence[int], pr: Sequence[int] | None = None) -> bytes:
    """
    A stroke append continuing its author's last stroke entry: tag 3, varint(author), points.
    """
    out = bytearray((ENTRY_NEXT,))
    put_varint(out, author)
    put_points(out, p, pr)
    return bytes(out)


def add_entry(
    author: int,
    i: int,
    element: int,
    x: int,
    y: int,
    style: int,
    p: Sequence[int],
    pr: Sequence[int] | None = None,
) -> bytes:
    """
    A stroke add: tag 2, author, i, element, zigzag x and y, style handle, points.
    """
    out = bytearray((ENTRY_ADD,))
    for n in (author, i, element, zigzag(x), zigzag(y), style):
        put_varint(out, n)
    put_points(out, p, pr)
    return bytes(out)
