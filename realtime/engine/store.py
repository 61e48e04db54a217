"""
The hub's database side: every function here runs in one of the hub's executor threads.

Each call starts with close_old_connections() so a connection broken by a database restart is
replaced instead of failing every later batch. Nothing here touches asyncio or the sockets.

Connections come from the process's pool (config.settings, DB_POOL_MAX_SIZE). The hub runs its
reader jobs through `released`, so a reader thread holds a connection only while it works; the
writer keeps one while ticks keep coming (`writer_connection`), one of the pool's, not an extra.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, close_old_connections, connections

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
from board.snapshots import (
    LoadedState,
    create_snapshot,
    head_and_snapshot,
    snapshot_elements_offset,
    state_load,
    store_snapshot,
)
from realtime.wire.frames import encode_snap, snap_head

#: Ops a stored snapshot may be behind the head and still be sent as `snap` + tail instead of
#: materialising and encoding the board at the head: reading and concatenating stored entries
#: costs a small fraction of decoding, replaying and re-encoding a big board. A snapshot is
#: normally at most SNAPSHOT_EVERY_OPS (1000) behind, so this covers most boards.
SNAP_TAIL_MAX_OPS = 1000

#: The writer returns its connection at its first tick after this long without one: a database
#: restart during the lull then costs no failed tick, and the pool may recycle the connection.
WRITER_IDLE_RELEASE_SECS = 1.0

T = TypeVar("T")
_writer = threading.local()


def released(fn: Callable[..., T], *args: Any) -> T:
    """
    Run `fn(*args)`, then give this thread's database connection back to the pool.

    A connection kept by an idle thread is one the pool cannot lend to a request: the hub's
    threads would hold three of DB_POOL_MAX_SIZE for good while doing nothing.
    """
    try:
        return fn(*args)
    finally:
        connections.close_all()


def writer_connection() -> None:
    """
    Keep the writer's pooled connection from tick to tick; give it back after an error or an
    idle spell, so the next tick takes a checked one from the pool.

    A checkout per tick would be cheap, but under an API burst it queues behind every waiting
    request, and a drawing client's acks with it (docs/performance.md has the figures).
    """
    connection = connections[DEFAULT_DB_ALIAS]
    now = time.monotonic()
    idle = now - getattr(_writer, "last_tick", now)
    _writer.last_tick = now
    if connection.connection is not None and (
        connection.errors_occurred or idle > WRITER_IDLE_RELEASE_SECS
    ):
        connection.close()


@dataclass(slots=True)
class TickResult:
    """
    One tick's commit: per-board results and the seqs of refused ops found in the log.
    """

    results: dict[str, AppendResult] = field(default_factory=dict)
    #: (seq, stored entry) by key: decisions.settle_refusals tells resends from conflicts.
    found: dict[tuple[str, str, int], tuple[int, bytes]] = field(default_factory=dict)
    #: The head after the commit of each board with refused ops: tells whether the state that
    #: refused them had seen the whole log.
    heads: dict[str, int] = field(default_factory=dict)


def commit_tick(
    batches: Mapping[str, Sequence[Submission]], suspects: Iterable[tuple[str, str, int]]
) -> TickResult:
    """
    Store every board's accepted ops in one transaction; look up refused ops that may be
    resends of stored ones (an `add` resent after a reconnect fails check_op, yet must be acked).
    """
    writer_connection()
    out = TickResult()
    if batches:
        out.results = append_batches(batches)
    suspects = list(suspects)
    if suspects:
        out.found = find_stored(suspects)
        out.heads = _heads({board_id for board_id, _c, _i in suspects})
    return out


@dataclass(frozen=True, slots=True)
class LoadedBoard:
    """
    A board loaded for a room: its state at the head and its latest snapshot as a `snap` frame.
    """

    state: BoardState
    snapshot_seq: int
    #: (seq, `snap` frame) spliced from that snapshot, or None (no snapshot, or an unexpected
    #: layout).
    snap: tuple[int, bytes] | None


def load_board(board_id: str) -> LoadedBoard:
    """
    Load the board at its head, keeping its latest snapshot as a ready `snap` frame.
    Raises BoardNotFound.
    """
    close_old_connections()
    loaded: LoadedState = state_load(board_id, defer=True)
    frame = snap_from_snapshot(loaded.snapshot) if loaded.snapshot is not None else None
    return LoadedBoard(loaded.state, loaded.snapshot_seq, frame)


def load_state(board_id: str) -> tuple[BoardState, int]:
    """
    Return the board at its head and the seq of its latest snapshot. Raises BoardNotFound.
    """
    loaded = load_board(board_id)
    return loaded.state, loaded.snapshot_seq


def read_range(board_id: str, after: int, upto: int | None = None) -> list[tuple[int, bytes]]:
    """
    Stored entries with after < seq (<= upto when given).
    """
    close_old_connections()
    if upto is None:
        return ops_after(board_id, after)
    return ops_between(board_id, after, upto)


def snap_from_snapshot(stored: bytes) -> tuple[int, bytes] | None:
    """
    (seq, `snap` frame) of a stored snapshot, its `els` bytes forwarded undecoded, or None if
    the snapshot is not laid out as expected (the caller then encodes a decoded state).

    Byte for byte what `frames.encode_snap(decode_snapshot(stored))` returns, without decoding
    and re-encoding the board (tests/realtime/test_snap_frames.py).
    """
    found = snapshot_elements_offset(stored)
    if found is None:
        return None
    seq, offset = found
    return seq, snap_head(seq) + memoryview(stored)[offset:]


def read_snapshot_catchup(board_id: str) -> tuple[bytes, int, list[tuple[int, bytes]]]:
    """
    A `snap` frame, the seq it covers, and everything stored after it.

    The latest stored snapshot is forwarded as is when it is at most SNAP_TAIL_MAX_OPS behind
    the head; otherwise the board is materialised at the head and encoded.
    """
    close_old_connections()
    head, seq, stored = head_and_snapshot(board_id)
    snap = (
        snap_from_snapshot(stored)
        if stored is not None and head - seq <= SNAP_TAIL_MAX_OPS
        else None
    )
    if snap is not None:
        return snap[1], snap[0], ops_after(board_id, snap[0])
    state = state_load(board_id).state
    return encode_snap(state), state.seq, ops_after(board_id, state.seq)


def heads(board_ids: Sequence[str]) -> dict[str, int]:
    """
    head_seq of each existing board (one query).
    """
    close_old_connections()
    return _heads(board_ids)


def _heads(board_ids: Iterable[str]) -> dict[str, int]:
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


def store_live_snapshot(board_id: str, seq: int, data: bytes, element_count: int) -> int:
    """
    Store an automatic snapshot encoded from a room's live state; return its seq (-1: board
    gone).
    """
    close_old_connections()
    try:
        return int(store_snapshot(board_id, seq, data, element_count).seq)
    except IntegrityError:
        return -1  # deleted since: its snapshots went with it


def take_snapshot(board_id: str) -> int:
    """
    Store an automatic snapshot of the board at its head; return its seq (-1: board gone).
    """
    close_old_connections()
    try:
        return int(create_snapshot(board_id).seq)
    except BoardNotFound:
        return -1
