"""
The frames of tentative delivery (docs/protocol.md §2.6): `tent`, ops the board accepted and has
not committed yet, and `tdrop`, tentatives that will not be committed as sent; for v2 sockets
opened with `tentative=2`, DOWN_TENT (the `tent` frame compact) and DOWN_PROMOTE (the ops of the
last DOWN_TENT are now log entries from this seq).

Pure, like realtime.wire.protocol. `tent` and `tdrop` are msgpack maps on v1 and v2 connections
alike; DOWN_TENT is encoded with a handle table (realtime.wire.handles), by the codec.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from realtime.wire.compact import DOWN_PROMOTE, put_varint


@dataclass(frozen=True, slots=True)
class Tentative:
    """
    `{"t": "tent", "ops": [...]}`: each an op plus `c` (its author's client id), without `s`.
    """

    ops: list[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "tent", "ops": self.ops}


@dataclass(frozen=True, slots=True)
class TentativeDrop:
    """
    `{"t": "tdrop", "ops": [[c, i], ...]}`: drop these tentatives.
    """

    ops: list[tuple[str, int]]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "tdrop", "ops": [[c, i] for c, i in self.ops]}


@dataclass(eq=False, slots=True)
class TentBatch:
    """
    One tick's accepted ops of a room, offered as tentatives: (author client id, author user id,
    op) in the order the log will take them; and its frames, each encoded once for the room.
    A delivery whose entries are exactly these ops names the batch (Delivery.promote), so the
    sockets sent it as DOWN_TENT get a DOWN_PROMOTE instead of the entries.
    """

    ops: list[tuple[str, int | None, dict[str, Any]]]
    #: The `tent` frame (msgpack), once encoded.
    v1: bytes | None = None
    #: The DOWN_TENT frame, once encoded (with the room's tentative handle table).
    compact: bytes | None = None

    def v1_frame(self) -> bytes:
        if self.v1 is None:
            self.v1 = tent_frame((c, op) for c, _u, op in self.ops)
        return self.v1


def promote_frame(first_seq: int, n: int) -> bytes:
    """
    DOWN_PROMOTE: 0x08, varint(first seq), varint(n): the n ops of the last DOWN_TENT are the
    log entries first_seq..first_seq + n - 1.
    """
    out = bytearray((DOWN_PROMOTE,))
    put_varint(out, first_seq)
    put_varint(out, n)
    return bytes(out)


def tent_frame(ops: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    """
    The `tent` frame of (author client id, op) pairs, in the order the log will take them.
    """
    frame: bytes = msgpack.packb(Tentative([{"c": c, **op} for c, op in ops]).to_wire())
    return frame


def tdrop_frame(keys: Sequence[tuple[str, int]]) -> bytes:
    """
    The `tdrop` frame of (author client id, op id) keys.
    """
    frame: bytes = msgpack.packb(TentativeDrop(list(keys)).to_wire())
    return frame
