"""
Sequencing: giving a board's new submissions consecutive seqs and their stored wire entries.

Pure code over the heads and known keys a store read: no SQL here, so both storage paths (and
the simulation's in-memory log, tests/sim) number and encode ops byte for byte alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

#: (board_id, seq, client_id, client_op_id, author_id, kind, payload): one Op row.
Row = tuple[str, int, str, int, int | None, str, bytes]
#: (board_id, client_id, client_op_id): the idempotency key.
Key = tuple[str, str, int]
#: What the log holds under a key: (seq, stored wire entry).
Stored = tuple[int, bytes]


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
    (client_id, client_op_id) to its seq, the original one for duplicates. `conflicts` are
    submissions whose key the log holds for another op (another writer used the client id,
    docs/protocol.md §1): neither stored nor acknowledged. `missing` is set when the board no
    longer exists; nothing is stored then.
    """

    board_id: str
    first_seq: int = 0
    last_seq: int = 0
    entries: list[bytes] = field(default_factory=list)
    acks: dict[tuple[str, int], int] = field(default_factory=dict)
    duplicates: set[tuple[str, int]] = field(default_factory=set)
    conflicts: set[tuple[str, int]] = field(default_factory=set)
    missing: bool = False


def submission_keys(batches: Mapping[str, Sequence[Submission]]) -> set[Key]:
    """
    The idempotency key of every submission of `batches`.
    """
    return {(b, sub.client_id, int(sub.op["i"])) for b, subs in batches.items() for sub in subs}


def live_batches(
    results: dict[str, AppendResult],
    heads: Mapping[str, int],
    batches: Mapping[str, Sequence[Submission]],
) -> dict[str, Sequence[Submission]]:
    """
    The batches of the boards that still exist (those with a head); mark the others missing.
    """
    for board_id, result in results.items():
        result.missing = board_id not in heads
    return {b: subs for b, subs in batches.items() if b in heads}


def sequence_all(
    results: dict[str, AppendResult],
    heads: dict[str, int],
    live: Mapping[str, Sequence[Submission]],
    known: dict[Key, Stored],
    pack: Callable[[Any], bytes],
) -> list[Row]:
    """
    Sequence every live board's submissions after its head; return the rows to store.
    """
    rows: list[Row] = []
    for board_id, submissions in live.items():
        rows.extend(sequence(results[board_id], heads[board_id], submissions, known, pack))
    return rows


def sequence(
    result: AppendResult,
    head: int,
    submissions: Iterable[Submission],
    known: dict[Key, Stored],
    pack: Callable[[Any], bytes],
) -> list[Row]:
    """
    Give new submissions consecutive seqs after `head`; ack known ones with their old seq when
    the log holds the same op by the same author under their key, else mark them conflicts.

    Each new op's wire entry is the op plus `s`, `c` and `u`, msgpack-packed: these bytes are
    stored and sent to every client as they are. `{**op, ...}` keeps the op's key order (and an
    op's own `s`, `c` or `u` in its place, overwritten), so the bytes depend only on the op.
    """
    board_id, acks, entries = result.board_id, result.acks, result.entries
    rows: list[Row] = []
    seq = head
    for sub in submissions:
        op, client_id, author_id = sub.op, sub.client_id, sub.author_id
        op_id = int(op["i"])
        key = (board_id, client_id, op_id)
        stored = known.get(key)
        if stored is not None:
            if is_resend(stored[1], op, client_id=client_id, author_id=author_id):
                acks[(client_id, op_id)] = stored[0]
                result.duplicates.add((client_id, op_id))
            else:
                result.conflicts.add((client_id, op_id))
            continue
        seq += 1
        entry = {**op, "s": seq, "c": client_id, "u": author_id}
        payload = pack(entry)
        known[key] = (seq, payload)
        rows.append((board_id, seq, client_id, op_id, author_id, str(op["k"]), payload))
        acks[(client_id, op_id)] = seq
        entries.append(payload)
    if rows:
        result.first_seq, result.last_seq = head + 1, seq
    return rows


def is_resend(
    stored: bytes, op: Mapping[str, Any], *, client_id: str, author_id: int | None
) -> bool:
    """
    Whether the stored entry `stored` is `op` by `author_id`: only then is a submission under its
    key a resend to acknowledge.

    The key alone is not proof: client ids are public (entries, presence), so whoever saw one can
    store ops under it while its writer is offline, and a key match would then acknowledge the
    writer's own ops as those and never store them. Comparing the author tells accounts apart;
    comparing the op also covers anonymous writers (no author) and a writer that never stored
    anything before. Decoded maps are compared, not bytes: a v1 frame and a compact frame give
    the same op in another key order. Runs only for keys the log already holds (resends).
    """
    entry = msgpack.unpackb(stored)
    if not isinstance(entry, dict):
        return False
    mine = {**op, "s": entry.get("s"), "c": client_id, "u": author_id}
    return bool(entry == msgpack.unpackb(msgpack.packb(mine)))
