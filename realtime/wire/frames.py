"""
The server's bulk frames as bytes: `ops` frames built by concatenating stored log entries, and
`snap` frames (docs/protocol.md §2.2).

Every delivery and catch-up forwards the log's entry bytes as stored, behind a pre-encoded
msgpack header, so no entry is decoded or re-encoded on the way to a socket. These are the v1
frames; every protocol version sends them (catch-up is always v1), and a v2 room's DOWN_OPS frames
are made from the same entries (realtime.wire.handles).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import msgpack

from board.document import BoardState

#: Pre-encoded head of a server `ops` frame: fixmap(2), "t": "ops", "ops": <array follows>.
_OPS_FRAME_HEAD = b"\x82" + msgpack.packb("t") + msgpack.packb("ops") + msgpack.packb("ops")


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def ops_frame_from_entries(entries: Sequence[bytes]) -> bytes:
    """
    Build a server `ops` frame by concatenating stored msgpack entries (no per-entry encoding).
    """
    return b"".join((_OPS_FRAME_HEAD, _array_header(len(entries)), *entries))


def ops_frames(rows: Sequence[tuple[int, bytes]], per_frame: int) -> list[bytes]:
    """
    The `ops` frames of (seq, entry) rows, at most `per_frame` entries each, by concatenation.
    """
    return [
        ops_frame_from_entries([entry for _, entry in rows[k : k + per_frame]])
        for k in range(0, len(rows), per_frame)
    ]


def split_ops_frame(frame: bytes) -> list[bytes]:
    """
    Return the msgpack bytes of each entry of an `ops` frame (rare path: partial overlaps).
    """
    entries: list[bytes] = [msgpack.packb(e) for e in msgpack.unpackb(frame)["ops"]]
    return entries


def exact_entries(frame: bytes, count: int) -> list[bytes] | None:
    """
    The entries of an `ops` frame built by ops_frame_from_entries, as slices of its bytes (so
    exactly the stored entries, unlike split_ops_frame, which re-encodes them); None when the
    frame is not laid out that way or does not hold `count` entries.
    """
    pos = len(_OPS_FRAME_HEAD)
    if not frame.startswith(_OPS_FRAME_HEAD) or len(frame) <= pos:
        return None
    tag = frame[pos]
    if tag & 0xF0 == 0x90:
        n, pos = tag & 0x0F, pos + 1
    elif tag == 0xDC:
        n, pos = int.from_bytes(frame[pos + 1 : pos + 3], "big"), pos + 3
    elif tag == 0xDD:
        n, pos = int.from_bytes(frame[pos + 1 : pos + 5], "big"), pos + 5
    else:
        return None
    if n != count:
        return None
    unpacker = msgpack.Unpacker(max_buffer_size=max(len(frame), 1024))
    unpacker.feed(memoryview(frame)[pos:])
    entries: list[bytes] = []
    try:
        for _ in range(n):
            start = pos + unpacker.tell()
            unpacker.skip()
            entries.append(frame[start : pos + unpacker.tell()])
    except (msgpack.OutOfData, ValueError):
        return None
    return entries if pos + unpacker.tell() == len(frame) else None


def snap_head(seq: int) -> bytes:
    """
    The bytes of a `snap` frame up to its `els` array, which the caller appends (as stored in a
    snapshot, say): the frame's map with the field order and integer widths msgpack.packb writes.
    """
    # Packing an empty array and dropping its one byte (0x90) gives exactly that.
    return bytes(msgpack.packb({"t": "snap", "s": seq, "els": []})[:-1])


def encode_snap(state: BoardState) -> bytes:
    """
    The `snap` frame of a board state (protocol §2.2).
    """
    frame: bytes = msgpack.packb(
        {"t": "snap", "s": state.seq, "els": list(state.elements.values())}
    )
    return frame
