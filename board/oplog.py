"""
The durable op log: sequencing, storing and reading a board's ops.

`append_batches` stores the ops of many boards in one transaction and gives each board a
contiguous range of `seq`s under a row lock on the board, so concurrent writers in several
processes never produce a duplicate or skipped `seq` (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
the IMMEDIATE transaction mode serialises writers). The number of queries per call does not grow
with the number of boards or ops: lock, look up duplicates, insert, bump heads.

Ops arrive here already validated (board.document); this module does not interpret them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Now

from board.models import Board, Op

#: Django's bulk_create batch; keeps one INSERT under PostgreSQL's parameter limit.
INSERT_BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class Submission:
    """
    One op from one client, ready to be sequenced. `op` holds at least `i` and `k`.
    """

    client_id: str
    author_id: int | None
    op: Mapping[str, Any]


@dataclass(slots=True)
class AppendResult:
    """
    What happened to one board's submissions.

    `entries` are the newly stored wire entries (msgpack bytes) in seq order, from `first_seq`
    to `last_seq` (both 0 when nothing new was stored). `acks` maps every submission's
    (client_id, client_op_id) to its seq, the original one for duplicates. `missing` is set when
    the board no longer exists; nothing is stored then.
    """

    board_id: str
    first_seq: int = 0
    last_seq: int = 0
    entries: list[bytes] = field(default_factory=list)
    ops: list[dict[str, Any]] = field(default_factory=list)
    acks: dict[tuple[str, int], int] = field(default_factory=dict)
    duplicates: set[tuple[str, int]] = field(default_factory=set)
    missing: bool = False


def encode_entry(
    *, seq: int, client_id: str, author_id: int | None, op: Mapping[str, Any]
) -> bytes:
    """
    Return the msgpack wire entry for a stored op: the op plus `s`, `c` and `u`.
    """
    entry = dict(op)
    entry["s"] = seq
    entry["c"] = client_id
    entry["u"] = author_id
    packed: bytes = msgpack.packb(entry)
    return packed


def append_batches(batches: Mapping[str, Sequence[Submission]]) -> dict[str, AppendResult]:
    """
    Sequence and store the submissions of every board in one transaction.
    """
    results = {board_id: AppendResult(board_id=board_id) for board_id in batches}
    if not any(batches.values()):
        return results
    with transaction.atomic():
        heads = dict(
            Board.objects.select_for_update()
            .filter(id__in=list(batches))
            .order_by("id")
            .values_list("id", "head_seq")
        )
        for board_id, result in results.items():
            result.missing = board_id not in heads
        known = _existing_seqs({b: s for b, s in batches.items() if b in heads})
        rows: list[Op] = []
        new_heads: dict[str, int] = {}
        for board_id, submissions in batches.items():
            if board_id not in heads:
                continue
            rows.extend(_sequence(results[board_id], heads[board_id], submissions, known))
            if results[board_id].last_seq:
                new_heads[board_id] = results[board_id].last_seq
        Op.objects.bulk_create(rows, batch_size=INSERT_BATCH_SIZE)
        if new_heads:
            Board.objects.filter(id__in=list(new_heads)).update(
                head_seq=Case(*(When(id=b, then=Value(h)) for b, h in new_heads.items())),
                updated_at=Now(),
            )
    return results


def append_ops(
    *, board_id: str, author_id: int | None, client_id: str, ops: Sequence[Mapping[str, Any]]
) -> AppendResult:
    """
    Sequence and store one client's ops on one board (see append_batches).
    """
    batch = [Submission(client_id=client_id, author_id=author_id, op=op) for op in ops]
    return append_batches({board_id: batch})[board_id]


def _existing_seqs(batches: Mapping[str, Sequence[Submission]]) -> dict[tuple[str, str, int], int]:
    """
    Return {(board, client_id, client_op_id): seq} for submissions already in the log.
    """
    wanted: dict[tuple[str, str], set[int]] = {}
    for board_id, submissions in batches.items():
        for sub in submissions:
            wanted.setdefault((board_id, sub.client_id), set()).add(int(sub.op["i"]))
    if not wanted:
        return {}
    query = Q()
    for (board_id, client_id), op_ids in wanted.items():
        query |= Q(board_id=board_id, client_id=client_id, client_op_id__in=sorted(op_ids))
    rows = Op.objects.filter(query).values_list("board_id", "client_id", "client_op_id", "seq")
    return {(b, c, i): s for b, c, i, s in rows}


def _sequence(
    result: AppendResult,
    head: int,
    submissions: Iterable[Submission],
    known: dict[tuple[str, str, int], int],
) -> list[Op]:
    rows: list[Op] = []
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
        rows.append(
            Op(
                board_id=result.board_id,
                seq=seq,
                client_id=sub.client_id,
                client_op_id=op_id,
                author_id=sub.author_id,
                kind=str(sub.op["k"]),
                payload=payload,
            )
        )
        result.acks[(sub.client_id, op_id)] = seq
        result.entries.append(payload)
        result.ops.append(dict(sub.op))
    if rows:
        result.first_seq = head + 1
        result.last_seq = seq
    return rows


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
