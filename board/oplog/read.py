"""
Reading the op log: stored wire entries by seq range, and decoding one.
"""

from __future__ import annotations

from typing import Any

import msgpack

from board.models import Op


def ops_after(board_id: str, after_seq: int, limit: int | None = None) -> list[tuple[int, bytes]]:
    """
    Return up to `limit` stored (seq, entry bytes) with seq > after_seq, in seq order.
    """
    query = (
        Op.objects.filter(board_id=board_id, seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", "payload")
    )
    if limit is not None:
        query = query[:limit]
    return [(seq, bytes(payload)) for seq, payload in query]


def ops_between(board_id: str, after_seq: int, upto_seq: int) -> list[tuple[int, bytes]]:
    """
    Return stored (seq, entry bytes) with after_seq < seq <= upto_seq, in seq order.
    """
    query = (
        Op.objects.filter(board_id=board_id, seq__gt=after_seq, seq__lte=upto_seq)
        .order_by("seq")
        .values_list("seq", "payload")
    )
    return [(seq, bytes(payload)) for seq, payload in query]


def decode_entry(payload: bytes) -> dict[str, Any]:
    """
    Decode one stored wire entry.
    """
    entry: dict[str, Any] = msgpack.unpackb(payload)
    return entry
