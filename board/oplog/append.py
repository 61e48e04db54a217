"""
Appending to the op log: one transaction for the ops of many boards.

`append_batches` gives each board a contiguous range of `seq`s under a row lock on the board,
so concurrent writers in several processes never produce a duplicate or skipped `seq`
(PostgreSQL: SELECT ... FOR UPDATE; SQLite: the IMMEDIATE transaction mode serialises writers).
The number of statements per call does not grow with the number of boards or ops: lock, look up
duplicates, insert, bump heads (board.oplog.store). On PostgreSQL, while no resend was seen
lately (board.oplog.resends), it is two: claim the seqs (lock and bump in one) and insert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import msgpack
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from board.oplog import resends
from board.oplog.orm import OrmStore
from board.oplog.postgres import PostgresStore
from board.oplog.sequence import (
    AppendResult,
    Key,
    Stored,
    Submission,
    live_batches,
    sequence_all,
    submission_keys,
)
from board.partitioning import names_key

#: The unique constraint on (board, client_id, client_op_id) (board.models.Op).
CLIENT_OP_CONSTRAINT = "op_unique_client_op"


def choose_store() -> OrmStore | PostgresStore:
    """
    The storage path for the default database.
    """
    return PostgresStore() if connection.vendor == "postgresql" else OrmStore()


def append_ops(
    *, board_id: str, author_id: int | None, client_id: str, ops: Sequence[Mapping[str, Any]]
) -> AppendResult:
    """
    Sequence and store one client's ops on one board (see append_batches).
    """
    batch = [Submission(client_id=client_id, author_id=author_id, op=op) for op in ops]
    return append_batches({board_id: batch})[board_id]


def find_stored(keys: Iterable[Key]) -> dict[Key, Stored]:
    """
    Return {(board_id, client_id, client_op_id): (seq, entry)} for the keys already in the log
    (sequence.is_resend tells whether an entry is a submission's).
    """
    wanted = set(keys)
    if not wanted:
        return {}
    return choose_store().existing_ops(wanted)


def append_batches(batches: Mapping[str, Sequence[Submission]]) -> dict[str, AppendResult]:
    """
    Sequence and store the submissions of every board in one transaction.

    An author deleted while still connected (the log keeps a deleted author's ops with no
    author: on_delete=SET_NULL) would fail the whole transaction at its insert, and with it
    every board of the call, tick after tick while that socket draws: their ops are stored
    without an author instead.
    """
    try:
        return _append_batches(batches)
    except IntegrityError:
        gone = _deleted_authors(batches)
        if not gone:
            raise
    kept = {
        board_id: [replace(s, author_id=None) if s.author_id in gone else s for s in subs]
        for board_id, subs in batches.items()
    }
    return _append_batches(kept)


def _deleted_authors(batches: Mapping[str, Sequence[Submission]]) -> set[int]:
    authors = {s.author_id for subs in batches.values() for s in subs if s.author_id is not None}
    users = get_user_model().objects.filter(pk__in=authors).values_list("pk", flat=True)
    return authors - set(users)


def _append_batches(batches: Mapping[str, Sequence[Submission]]) -> dict[str, AppendResult]:
    results = {board_id: AppendResult(board_id=board_id) for board_id in batches}
    if not any(batches.values()):
        return results
    store = choose_store()
    # One Packer for the call (not per thread: a Packer is not thread-safe): packb builds a
    # Packer, and with it a fresh buffer, for every entry.
    pack = msgpack.Packer().pack
    if isinstance(store, PostgresStore) and resends.RESENDS.quiet():
        try:
            with transaction.atomic():
                return _append_optimistically(store, results, batches, pack)
        except _Resent:
            resends.RESENDS.probed(found=True)
            results = {board_id: AppendResult(board_id=board_id) for board_id in batches}
    with transaction.atomic():
        heads = store.lock_heads(sorted(batches))
        live = live_batches(results, heads, batches)
        known = store.existing_ops(submission_keys(live))
        resends.RESENDS.probed(found=bool(known))
        rows = sequence_all(results, heads, live, known, pack)
        if rows:
            store.insert(rows)
        bumped = {b: r.last_seq for b, r in results.items() if r.last_seq}
        if bumped:
            store.bump_heads(bumped)
    return results


class _Resent(Exception):
    """
    The optimistic insert met an op already in the log (or twice in the batch): undo, probe.
    """


def _append_optimistically(
    store: PostgresStore,
    results: dict[str, AppendResult],
    batches: Mapping[str, Sequence[Submission]],
    pack: Callable[[Any], bytes],
) -> dict[str, AppendResult]:
    """
    Store the ops as if none were stored before; raise _Resent (the caller's transaction
    rolls back) if one was.

    This path claims every board's seqs and bumps its head in ONE statement (claim_seqs) and
    inserts without a probe: 3 round trips to the database fewer than lock, probe, insert,
    bump. The unique constraint on (board, client, op) refuses a resend; the whole transaction
    is then undone and the caller takes the probing path, and board.oplog.resends keeps the
    next calls probing first for a while.
    """
    counts = {b: len(subs) for b, subs in batches.items()}
    heads = store.claim_seqs(counts)
    live = live_batches(results, heads, batches)
    rows = sequence_all(results, heads, live, {}, pack)
    if len(rows) != sum(counts[b] for b in live):
        raise _Resent  # one (client, i) twice in the batch: the claimed range has a hole
    try:
        store.insert(rows)
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if names_key(getattr(diag, "constraint_name", None), CLIENT_OP_CONSTRAINT):
            raise _Resent from exc
        raise
    return results
