"""
The hub's database side: every function here runs in one of the hub's executor threads.

Each call starts with close_old_connections() so a connection broken by a database restart is
replaced instead of failing every later batch. Nothing here touches asyncio or the sockets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
from django.db import close_old_connections

from board.access import resolve_role
from board.document import BoardState
from board.exceptions import BoardNotFound
from board.models import Board
from board.oplog import (
    AppendResult,
    Submission,
    append_batches,
    find_stored,
    ops_after,
    ops_between,
)
from board.snapshots import create_snapshot, latest_snapshot, state_at


@dataclass(slots=True)
class TickResult:
    """
    One tick's commit: per-board results and the seqs of refused ops found in the log.
    """

    results: dict[str, AppendResult] = field(default_factory=dict)
    found: dict[tuple[str, str, int], int] = field(default_factory=dict)


def commit_tick(
    batches: Mapping[str, Sequence[Submission]], suspects: Iterable[tuple[str, str, int]]
) -> TickResult:
    """
    Store every board's accepted ops in one transaction; look up refused ops that may be
    resends of stored ones (an `add` resent after a reconnect fails check_op, yet must be acked).
    """
    close_old_connections()
    out = TickResult()
    if batches:
        out.results = append_batches(batches)
    out.found = find_stored(suspects)
    return out


def load_state(board_id: str) -> tuple[BoardState, int]:
    """
    Return the board at its head and the seq of its latest snapshot. Raises BoardNotFound.
    """
    close_old_connections()
    state = state_at(board_id)
    snap = latest_snapshot(board_id)
    return state, (snap.seq if snap is not None else 0)


def read_range(board_id: str, after: int, upto: int | None = None) -> list[tuple[int, bytes]]:
    """
    Stored entries with after < seq (<= upto when given).
    """
    close_old_connections()
    if upto is None:
        return ops_after(board_id, after)
    return ops_between(board_id, after, upto)


def encode_snap(state: BoardState) -> bytes:
    """
    The `snap` frame of a state (protocol §2.2).
    """
    frame: bytes = msgpack.packb(
        {"t": "snap", "s": state.seq, "els": list(state.elements.values())}
    )
    return frame


def read_snapshot_catchup(board_id: str) -> tuple[bytes, int, list[tuple[int, bytes]]]:
    """
    The board's latest state as a `snap` frame, its seq, and anything stored after it.
    """
    close_old_connections()
    state = state_at(board_id)
    return encode_snap(state), state.seq, ops_after(board_id, state.seq)


def heads(board_ids: Sequence[str]) -> dict[str, int]:
    """
    head_seq of each existing board (one query).
    """
    close_old_connections()
    return dict(Board.objects.filter(id__in=list(board_ids)).values_list("id", "head_seq"))


def resolve_roles(board_id: str, callers: Sequence[tuple[Any, str | None]]) -> list[str | None]:
    """
    The current role of each (user_id, share token) on the board; all None if it is gone.
    """
    close_old_connections()
    from django.contrib.auth import get_user_model

    board = Board.objects.filter(id=board_id).first()
    if board is None:
        return [None] * len(callers)
    users = get_user_model().objects.in_bulk([u for u, _ in callers if u is not None])
    return [resolve_role(users.get(u) if u else None, board, share) for u, share in callers]


def take_snapshot(board_id: str) -> int:
    """
    Store an automatic snapshot of the board at its head; return its seq (-1: board gone).
    """
    close_old_connections()
    try:
        return int(create_snapshot(board_id).seq)
    except BoardNotFound:
        return -1
