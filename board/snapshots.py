"""
Snapshots: loading a board at a seq (latest snapshot plus the log's tail) and compaction.

A snapshot is the msgpack of `BoardState.to_snapshot()`, {"v": 1, "s": seq, "els": [...]}, stored
with the seq it covers. It is a cache of the log, never a replacement: `state_at(board, seq)` from
any snapshot <= seq equals replaying the whole log to seq (tests/board/test_snapshots.py).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack

from board.conf import app_settings
from board.document import BoardState, replay
from board.exceptions import BoardNotFound
from board.models import Board, Snapshot, SnapshotKind
from board.oplog import decode_entry, ops_between

logger = logging.getLogger(__name__)


def should_snapshot(ops_since_last: int, secs_since_last: float) -> bool:
    """
    Compaction policy: snapshot after SNAPSHOT_EVERY_OPS ops, or after SNAPSHOT_EVERY_SECS of
    activity (at least one op) since the last snapshot.

    The op bound caps a cold load's replay work; the time bound keeps a slowly edited board from
    replaying a day of ops. An idle board is never snapshotted again.
    """
    if ops_since_last <= 0:
        return False
    every_ops: int = app_settings.SNAPSHOT_EVERY_OPS
    every_secs: float = app_settings.SNAPSHOT_EVERY_SECS
    return ops_since_last >= every_ops or secs_since_last >= every_secs


def _board_id(board: Board | str) -> str:
    return board.pk if isinstance(board, Board) else board


def latest_snapshot(board: Board | str, max_seq: int | None = None) -> Snapshot | None:
    """
    Return the board's snapshot with the highest seq (<= max_seq when given), or None.
    """
    query = Snapshot.objects.filter(board_id=_board_id(board))
    if max_seq is not None:
        query = query.filter(seq__lte=max_seq)
    return query.order_by("-seq", "-id").first()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """
    Pause the cyclic GC while decoding a big snapshot.

    Decoding 50k elements allocates ~200k containers, which triggers hundreds of generation-0
    and several full collections: measured 600 ms with the GC on, 180-270 ms with it paused. The
    decoded maps hold no cycles, so nothing is left for the collector to find afterwards. With
    several threads decoding at once one may re-enable the GC early; that only costs speed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode_snapshot(data: bytes) -> BoardState:
    """
    Decode the stored (and `snap` frame) encoding of a state.
    """
    with _gc_paused():
        return BoardState.from_snapshot(msgpack.unpackb(data))


def snapshot_state(snapshot: Snapshot) -> BoardState:
    """
    Decode a stored snapshot into a fresh BoardState.
    """
    return decode_snapshot(bytes(snapshot.state))


def _head_seq(board_id: str) -> int:
    head = Board.objects.filter(id=board_id).values_list("head_seq", flat=True).first()
    if head is None:
        raise BoardNotFound(f"Board {board_id!r} not found.")
    return head


def state_at(board: Board | str, seq: int | None = None) -> BoardState:
    """
    Return the board at `seq` (default: its head): latest snapshot <= seq plus the ops after it.

    `board` is a Board or its id; the head is re-read, so a stale instance is fine. A `seq`
    beyond the head is clamped to the head. Raises BoardNotFound.
    """
    board_id = _board_id(board)
    head = _head_seq(board_id)
    target = head if seq is None else max(0, min(seq, head))
    snapshot = latest_snapshot(board_id, max_seq=target)
    state = snapshot_state(snapshot) if snapshot is not None else BoardState()
    tail = ops_between(board_id, state.seq, target)
    replay(state, (decode_entry(payload) for _seq, payload in tail))
    if state.seq != target:
        # The log has a hole or the head ran ahead of the rows: both break invariant 1.
        logger.error("Board %s: replay reached seq %s, expected %s", board_id, state.seq, target)
    return state


def encode_snapshot(state: BoardState) -> bytes:
    """
    Return the stored (and `snap` frame) encoding of a state.
    """
    data: bytes = msgpack.packb(state.to_snapshot())
    return data


def create_snapshot(
    board: Board | str,
    *,
    label: str = "",
    kind: str = SnapshotKind.AUTO,
    created_by: Any = None,
    upto_seq: int | None = None,
) -> Snapshot:
    """
    Materialise the board at `upto_seq` (default: head) and store it as a snapshot.

    Reads and writes outside any lock: the ops up to the chosen seq are immutable, so a writer
    appending meanwhile cannot change what this snapshot covers.
    """
    state = state_at(board, upto_seq)
    return Snapshot.objects.create(
        board_id=_board_id(board),
        seq=state.seq,
        state=encode_snapshot(state),
        element_count=state.element_count,
        label=label,
        kind=kind,
        created_by=created_by,
    )
