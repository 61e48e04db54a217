"""
Snapshots: loading a board at a seq (latest snapshot plus the log's tail) and compaction.

A snapshot is the msgpack of `BoardState.to_snapshot()`, {"v": 1, "s": seq, "els": [...]}, stored
with the seq it covers. It is a cache of the log, never a replacement: `state_at(board, seq)` from
any snapshot <= seq equals replaying the whole log to seq (tests/board/test_snapshots.py).

Loading is the cold path of a big board (a 50k-element snapshot is ~5 MB of msgpack): one query
reads the head and the latest snapshot's bytes, one more the tail, and `state_load` hands the
stored bytes back so the realtime side can forward them instead of re-encoding the state.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgpack
from django.db.models import OuterRef, Subquery

from board.conf import board_settings
from board.document import SNAPSHOT_VERSION, BoardState, replay
from board.document.state import Element
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
    conf = board_settings()
    return ops_since_last >= conf.snapshot_every_ops or secs_since_last >= conf.snapshot_every_secs


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
    and several full collections that cost more than the decode itself. The decoded maps hold
    no cycles, so nothing is left for the collector to find afterwards. With
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


@dataclass(frozen=True, slots=True)
class LoadedState:
    """
    A board materialised at a seq, with the stored snapshot it was built from.
    """

    state: BoardState
    #: Seq of that snapshot (0 when the board has none and was replayed from empty).
    snapshot_seq: int
    #: The snapshot's stored bytes (None without one): the board at `snapshot_seq`, already
    #: encoded, so a `snap` frame can be spliced from it (realtime.engine.store).
    snapshot: bytes | None


def head_and_snapshot(board: Board | str, seq: int | None = None) -> tuple[int, int, bytes | None]:
    """
    (head_seq, seq, bytes) of the board's latest snapshot <= min(seq, head), in one query.

    One statement instead of head + snapshot: one round trip less, and both values come from the
    same MVCC snapshot. Only the two needed columns are read, not the whole Snapshot row.
    Without a snapshot the seq is 0 and the bytes None. Raises BoardNotFound.
    """
    board_id = _board_id(board)
    latest = Snapshot.objects.filter(board_id=OuterRef("pk"), seq__lte=OuterRef("head_seq"))
    if seq is not None:
        latest = latest.filter(seq__lte=max(0, seq))
    latest = latest.order_by("-seq", "-id")
    row = (
        Board.objects.filter(id=board_id)
        .annotate(
            snap_seq=Subquery(latest.values("seq")[:1]),
            snap_state=Subquery(latest.values("state")[:1]),
        )
        .values_list("head_seq", "snap_seq", "snap_state")
        .first()
    )
    if row is None:
        raise BoardNotFound(f"Board {board_id!r} not found.")
    head, snap_seq, stored = row
    if stored is None:
        return int(head), 0, None
    return int(head), int(snap_seq), bytes(stored)


def _tail(board_id: str, after_seq: int, upto_seq: int) -> Iterator[dict[str, Any]]:
    # A generator: each decoded entry dies once applied. A list held alive while replaying
    # would get its dicts promoted through the GC generations, which slows a long tail's load.
    return (decode_entry(payload) for _seq, payload in ops_between(board_id, after_seq, upto_seq))


def state_load(board: Board | str, seq: int | None = None, *, defer: bool = False) -> LoadedState:
    """
    Load the board at `seq` (default: its head): latest snapshot <= seq plus the ops after it.

    `board` is a Board or its id; the head is re-read, so a stale instance is fine. A `seq`
    beyond the head is clamped to the head. Raises BoardNotFound.

    With `defer`, a board with a snapshot comes back as a deferred BoardState: the snapshot is
    decoded and the tail (read and decoded now) applied on first use of its elements, in
    whichever thread first needs them. Decoding a big board holds the GIL throughout, so doing it
    here, in a reader thread, stalls the event loop just as much and delays the socket waiting
    for the board by all of it.
    """
    board_id = _board_id(board)
    head, snap_seq, stored = head_and_snapshot(board_id, seq)
    target = head if seq is None else max(0, min(seq, head))
    header = snapshot_elements_offset(stored) if defer and stored is not None else None
    if stored is not None and header is not None:
        tail = list(_tail(board_id, header[0], target)) if header[0] < target else []
        state = BoardState.deferred(
            tail[-1]["s"] if tail else header[0], partial(_build_elements, stored, tail)
        )
    else:
        state = decode_snapshot(stored) if stored is not None else BoardState()
        if state.seq < target:
            # As for a snapshot: thousands of small containers (rows, entries, elements), no
            # cycles; in the server's big heap the collections they trigger cost more than them.
            with _gc_paused():
                replay(state, _tail(board_id, state.seq, target))
    if state.seq != target:
        # The log has a hole or the head ran ahead of the rows: both break invariant 1.
        logger.error("Board %s: replay reached seq %s, expected %s", board_id, state.seq, target)
    return LoadedState(state, snap_seq, stored)


def _build_elements(stored: bytes, tail: list[dict[str, Any]]) -> dict[str, Element]:
    return replay(decode_snapshot(stored), tail).elements


def state_at(board: Board | str, seq: int | None = None) -> BoardState:
    """
    Return the board at `seq` (default: its head); see `state_load`. Raises BoardNotFound.
    """
    return state_load(board, seq).state


def snapshot_elements_offset(data: bytes) -> tuple[int, int] | None:
    """
    Return (seq, offset of the `els` array) of a stored snapshot, or None if it is not laid out
    as `to_snapshot` writes it (a map whose last key is "els").

    Reads only the header, so the elements can be forwarded as stored bytes, undecoded.
    """
    unpacker = msgpack.Unpacker()
    unpacker.feed(data[:64])  # "v", "s" and the "els" key fit well within 64 bytes
    try:
        fields = unpacker.read_map_header()
        seen: dict[str, Any] = {}
        for n in range(fields):
            key = unpacker.unpack()
            if key == "els":
                if n != fields - 1:
                    return None
                offset: int = unpacker.tell()
                break
            seen[key] = unpacker.unpack()
        else:
            return None
    except (msgpack.OutOfData, ValueError, TypeError):
        return None
    seq = seen.get("s")
    if seen.get("v") != SNAPSHOT_VERSION or not isinstance(seq, int):
        return None
    return seq, offset


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
    return store_snapshot(
        _board_id(board),
        state.seq,
        encode_snapshot(state),
        state.element_count,
        label=label,
        kind=kind,
        created_by=created_by,
    )


def store_snapshot(
    board_id: str,
    seq: int,
    data: bytes,
    element_count: int,
    *,
    label: str = "",
    kind: str = SnapshotKind.AUTO,
    created_by: Any = None,
) -> Snapshot:
    """
    Store `data`, the board at `seq` as encode_snapshot encodes it, as a snapshot.
    """
    return Snapshot.objects.create(
        board_id=board_id,
        seq=seq,
        state=data,
        element_count=element_count,
        label=label,
        kind=kind,
        created_by=created_by,
    )
