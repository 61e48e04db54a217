"""
The hub's PostgreSQL fast path for board.oplog.append_batches: same contract, four statements.

board.oplog builds its duplicate lookup as one ORM `Q` clause per (board, client) and inserts
through bulk_create; with 50 boards in a tick that cost ~150 ms of CPU per tick on the 2-core
box (Q building and compiling, model instances), which alone caps a process far below the
many-boards target. Here every statement takes whole columns as array parameters (`unnest`), so
compiling and binding cost the same for 1 op or 5,000: lock the boards, look up duplicates,
insert, bump heads. Entries are encoded with board.oplog.encode_entry, so stored bytes are
identical whichever path wrote them. Other databases (SQLite for `make run`) use board.oplog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, transaction

from board.models import Board, Op
from board.oplog import AppendResult, Submission, append_batches, encode_entry

_BOARD = Board._meta.db_table
_OP = Op._meta.db_table

_LOCK = f"SELECT id, head_seq FROM {_BOARD} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_DUPLICATES = (
    f"SELECT o.board_id, o.client_id, o.client_op_id, o.seq FROM {_OP} o "
    "JOIN unnest(%s::varchar[], %s::varchar[], %s::bigint[]) AS k(b, c, i) "
    "ON o.board_id = k.b AND o.client_id = k.c AND o.client_op_id = k.i"
)
_INSERT = (
    f"INSERT INTO {_OP} (board_id, seq, client_id, client_op_id, author_id, kind, payload, "
    "created_at) SELECT b, s, c, i, u, k, p, now() FROM unnest(%s::varchar[], %s::bigint[], "
    "%s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[], %s::bytea[]) "
    "AS t(b, s, c, i, u, k, p)"
)
_HEADS = (
    f"UPDATE {_BOARD} AS b SET head_seq = v.h, updated_at = now() "
    "FROM unnest(%s::varchar[], %s::bigint[]) AS v(id, h) WHERE b.id = v.id"
)


class _Rows:
    """
    Column arrays of the rows to insert.
    """

    def __init__(self) -> None:
        self.columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])

    def add(self, *values: Any) -> None:
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)


def append_batches_fast(batches: Mapping[str, Sequence[Submission]]) -> dict[str, AppendResult]:
    """
    board.oplog.append_batches, in four statements on PostgreSQL (falls back elsewhere).
    """
    if connection.vendor != "postgresql":
        return append_batches(batches)
    results = {board_id: AppendResult(board_id=board_id) for board_id in batches}
    if not any(batches.values()):
        return results
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK, [sorted(batches)])
        heads = {board_id: int(head) for board_id, head in cursor.fetchall()}
        for board_id, result in results.items():
            result.missing = board_id not in heads
        known = _duplicates(cursor, {b: s for b, s in batches.items() if b in heads})
        rows = _Rows()
        for board_id, submissions in batches.items():
            if board_id in heads:
                _sequence(results[board_id], heads[board_id], submissions, known, rows)
        if rows.columns[0]:
            cursor.execute(_INSERT, list(rows.columns))
        bumped = [(b, r.last_seq) for b, r in results.items() if r.last_seq]
        if bumped:
            cursor.execute(_HEADS, [[b for b, _ in bumped], [h for _, h in bumped]])
    return results


def _duplicates(
    cursor: Any, batches: Mapping[str, Sequence[Submission]]
) -> dict[tuple[str, str, int], int]:
    keys = {(b, sub.client_id, int(sub.op["i"])) for b, subs in batches.items() for sub in subs}
    if not keys:
        return {}
    boards, clients, op_ids = (list(column) for column in zip(*keys, strict=True))
    cursor.execute(_DUPLICATES, [boards, clients, op_ids])
    return {(b, c, int(i)): int(s) for b, c, i, s in cursor.fetchall()}


def _sequence(
    result: AppendResult,
    head: int,
    submissions: Sequence[Submission],
    known: dict[tuple[str, str, int], int],
    rows: _Rows,
) -> None:
    seq = head
    for sub in submissions:
        op_id = int(sub.op["i"])
        key = (result.board_id, sub.client_id, op_id)
        if key in known:
            result.acks[(sub.client_id, op_id)] = known[key]
            result.duplicates.add((sub.client_id, op_id))
            continue
        seq += 1
        known[key] = seq
        payload = encode_entry(seq=seq, client_id=sub.client_id, author_id=sub.author_id, op=sub.op)
        rows.add(
            result.board_id, seq, sub.client_id, op_id, sub.author_id, str(sub.op["k"]), payload
        )
        result.acks[(sub.client_id, op_id)] = seq
        result.entries.append(payload)
        result.ops.append(dict(sub.op))
    if seq > head:
        result.first_seq, result.last_seq = head + 1, seq
