"""
The frames of tentative delivery (docs/protocol.md §2.6): `tent`, ops the board accepted and has
not committed yet, and `tdrop`, tentatives that will not be committed as sent.

Pure, like realtime.wire.protocol; msgpack maps on v1 and v2 connections alike. Only sockets
opened with `tentative=1` are sent them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack


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
