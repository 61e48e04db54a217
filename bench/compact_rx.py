"""
The load generator's reading of protocol v2's server frames (docs/protocol.md §2.5).

The accounting needs, per entry of a DOWN_OPS frame, only its seq, author, op id and point count:
`scan_down_ops` walks the frame for exactly that and skips the point codes without decoding them
(the reference client's decode_down_ops rebuilds whole v1 entries, several times the work). A stroke
`add` (tag 2) counts like an append (tag 1): its element, x, y and style are skipped as varints
(a style handle is never an author: its definition drops the handle from the author map), and
its points are those of its points block (1 in the bench, as for a v1 `add`). It runs
once per distinct payload per worker and handle map (bench.client.FrameDecoder caches the
result), so it is off the per-receiver path, but C-like loads see many distinct small payloads.

Handles are per connection: the same DOWN_OPS bytes name the same authors for two receivers only
if their handle maps agree (Inkroom encodes a delivery once per room, from a room-wide handle
table, so they normally do; a socket gets the whole table in a DEFS frame when its live stream
starts, and every frame's new names inline after that). A frame's
inline definitions change the receiver's map before its entries are read. `Handles` is one map,
reduced to what the accounting reads (author handles and their sender slots), interned by the
decoder so that every connection whose author map is the same holds the same object, and
carrying the frames decoded under it with the map each leads to: a receiver's cache lookup is
then one dict get, as for v1, and a frame is never resolved against another connection's
handles.
"""

from __future__ import annotations

from typing import Any

import msgpack

from realtime.wire.compact import (
    DOWN_TENT,
    ENTRY_ADD,
    ENTRY_APP,
    ENTRY_NEXT,
    ENTRY_V1,
    ESCAPE,
    PAIR_CODES,
    CompactError,
)

#: (True, author handle, op id, points) for a stroke append or add, with op id None for a tag-3
#: append (its author's previous stroke entry's + 1: the caller keeps those); (False, author
#: client id or None, op id, points) for an entry carried as v1 msgpack.
ScanRow = tuple[bool, Any, int | None, int]
#: (handle, name) definitions in frame order (a later one for the same handle wins).
Defs = list[tuple[int, str]]
#: Entry tags scanned in place: stroke append, stroke add, continued stroke append.
_STROKE_TAGS = frozenset((ENTRY_APP, ENTRY_ADD, ENTRY_NEXT))


class Handles:
    """
    One connection-independent author handle map, shared by every connection that holds it.
    """

    __slots__ = ("after", "frames", "last", "slots")

    def __init__(self, slots: dict[int, int], last: dict[int, int]) -> None:
        #: Author handle -> sender slot. Handles naming elements or foreign authors are absent.
        self.slots = slots
        #: Author handle -> op id of its last stroke entry (what a tag-3 entry continues).
        self.last = last
        #: DOWN_OPS payload -> (its decoded frame under this map (bench.client.OpsFrame), the
        #: map after its inline definitions).
        self.frames: dict[bytes, tuple[Any, Handles]] = {}
        #: DEFS payload -> the map it leads to from this one (each is parsed once per map).
        self.after: dict[bytes, Handles] = {}

    def key(self) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        return tuple(sorted(self.slots.items())), tuple(sorted(self.last.items()))


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    n = b & 0x7F
    shift = 7
    for k in range(pos + 1, pos + 9):
        b = data[k]
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, k + 1
        shift += 7
    raise CompactError("varint too long")


def _skip_varint(data: bytes, pos: int) -> int:
    while data[pos] >= 0x80:
        pos += 1
    return pos + 1


def _defs(data: bytes, pos: int) -> tuple[Defs, int]:
    count, pos = _varint(data, pos)
    defs: Defs = []
    for _ in range(count):
        handle, pos = _varint(data, pos)
        size, pos = _varint(data, pos)
        end = pos + size
        if end > len(data):
            raise IndexError
        defs.append((handle, data[pos:end].decode()))
        pos = end
    return defs, pos


def scan_defs(data: bytes) -> Defs:
    """
    Return the definitions of a DEFS frame; raise CompactError if it is malformed.
    """
    try:
        defs, pos = _defs(data, 1)
    except (IndexError, UnicodeDecodeError):
        raise CompactError("truncated or undecodable DEFS frame") from None
    if pos != len(data):
        raise CompactError("trailing bytes after the definitions")
    return defs


def scan_cont(data: bytes) -> list[tuple[int, int]]:
    """
    Return the (author handle, op id) continuations of a CONT frame; raise CompactError if it
    is malformed.
    """
    out: list[tuple[int, int]] = []
    try:
        count, pos = _varint(data, 1)
        for _ in range(count):
            author, pos = _varint(data, pos)
            i, pos = _varint(data, pos)
            size, pos = _varint(data, pos)
            pos += size
            out.append((author, i))
    except IndexError:
        raise CompactError("truncated CONT frame") from None
    if pos != len(data):
        raise CompactError("trailing bytes after the continuations")
    return out


def scan_down_ops(data: bytes) -> tuple[int | None, Defs, list[ScanRow]]:
    """
    Return (first seq, inline definitions, rows) of a DOWN_OPS frame, or of a DOWN_TENT frame
    (first seq None: its entries have none; protocol §2.6); raise CompactError if it is
    malformed.
    """
    try:
        first: int | None = None
        pos = 1
        if data[0] != DOWN_TENT:
            first, pos = _varint(data, 1)
        defs, pos = _defs(data, pos)
        count, pos = _varint(data, pos)
        rows: list[ScanRow] = []
        for _ in range(count):
            tag = data[pos]
            pos += 1
            if tag in _STROKE_TAGS:
                author, pos = _varint(data, pos)
                i: int | None = None
                if tag != ENTRY_NEXT:
                    i, pos = _varint(data, pos)
                    pos = _skip_varint(data, pos)  # the element: the accounting does not need it
                if tag == ENTRY_ADD:
                    # x, y and the style handle: not needed either.
                    pos = _skip_varint(data, _skip_varint(data, _skip_varint(data, pos)))
                head, pos = _varint(data, pos)
                n = head >> 1
                for _ in range(n):
                    code = data[pos]
                    pos += 1
                    if code >= PAIR_CODES:
                        if code != ESCAPE:
                            raise CompactError(f"reserved point code {code}")
                        pos = _skip_varint(data, _skip_varint(data, pos))
                if head & 1:
                    for _ in range(n):
                        pos = _skip_varint(data, pos)
                rows.append((True, author, i, n))
            elif tag == ENTRY_V1:
                size, pos = _varint(data, pos)
                entry = msgpack.unpackb(data[pos : pos + size])
                pos += size
                pts = entry.get("p")
                rows.append((False, entry.get("c"), entry.get("i", 0), len(pts) // 2 if pts else 1))
            else:
                raise CompactError(f"unknown entry tag {tag}")
    except (IndexError, UnicodeDecodeError):
        raise CompactError("truncated DOWN_OPS or DOWN_TENT frame") from None
    if pos != len(data):
        raise CompactError("trailing bytes after the entries")
    return first, defs, rows
