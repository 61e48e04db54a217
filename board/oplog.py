"""
The durable op log: sequencing, storing and reading a board's ops.

`append_batches` stores the ops of many boards in one transaction and gives each board a
contiguous range of `seq`s under a row lock on the board, so concurrent writers in several
processes never produce a duplicate or skipped `seq` (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
the IMMEDIATE transaction mode serialises writers). The number of statements per call does not
grow with the number of boards or ops: lock, look up duplicates, insert, bump heads — through
array literals and binary COPY on PostgreSQL, through the ORM elsewhere. On PostgreSQL, while no
resend was seen lately, it is two: claim the seqs (lock and bump in one) and insert
(_append_optimistically).

Ops arrive here already validated (board.document); this module does not interpret them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from typing import Any

import msgpack
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone
from psycopg.adapt import PyFormat

from board.models import Board, Op

#: The unique constraint on (board, client_id, client_op_id) (board.models.Op).
CLIENT_OP_CONSTRAINT = "op_unique_client_op"
#: How stale a drawn-on board's updated_at may get. The column is in an index (a board list's
#: order), so setting it on every tick made each head bump a non-HOT update with a new entry in
#: every index of the board table: ~30 % of a tick's WAL and, with the lock folded into the
#: bump, a quarter of its wall time (python -m bench.oplog_micro).
TOUCH_EVERY = timedelta(minutes=1)
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
    acks: dict[tuple[str, int], int] = field(default_factory=dict)
    duplicates: set[tuple[str, int]] = field(default_factory=set)
    missing: bool = False


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
    store = _store()
    # One Packer for the call (not per thread: a Packer is not thread-safe): packb builds a
    # Packer, and with it a fresh buffer, for every entry.
    pack = msgpack.Packer().pack
    if isinstance(store, _PostgresStore) and _RESENDS.quiet():
        try:
            with transaction.atomic():
                return _append_optimistically(store, results, batches, pack)
        except _Resent:
            _RESENDS.probed(found=True)
            results = {board_id: AppendResult(board_id=board_id) for board_id in batches}
    with transaction.atomic():
        heads = store.lock_heads(sorted(batches))
        live = _live(results, heads, batches)
        known = store.existing_seqs(_keys(live))
        _RESENDS.probed(found=bool(known))
        rows = _sequence_all(results, heads, live, known, pack)
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
    store: _PostgresStore,
    results: dict[str, AppendResult],
    batches: Mapping[str, Sequence[Submission]],
    pack: Callable[[Any], bytes],
) -> dict[str, AppendResult]:
    """
    Store the ops as if none were stored before; raise _Resent (the caller's transaction
    rolls back) if one was.

    Resends (the same (client_id, i) again after a reconnect) are rare outside reconnect waves,
    so this path claims every board's seqs and bumps its head in ONE statement (claim_seqs)
    and inserts without a probe: 3 round trips to the database fewer than lock, probe, insert,
    bump (python -m bench.oplog_micro). The unique constraint on (board, client, op) refuses a
    resend; the whole transaction is then undone and the caller takes the probing path, whose
    _RESENDS then keeps the next calls probing first for a while.
    """
    counts = {b: len(subs) for b, subs in batches.items()}
    heads = store.claim_seqs(counts)
    live = _live(results, heads, batches)
    rows = _sequence_all(results, heads, live, {}, pack)
    if len(rows) != sum(counts[b] for b in live):
        raise _Resent  # one (client, i) twice in the batch: the claimed range has a hole
    try:
        store.insert(rows)
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) == CLIENT_OP_CONSTRAINT:
            raise _Resent from exc
        raise
    return results


def _live(
    results: dict[str, AppendResult],
    heads: Mapping[str, int],
    batches: Mapping[str, Sequence[Submission]],
) -> dict[str, Sequence[Submission]]:
    """
    The batches of the boards that still exist; mark the others missing.
    """
    for board_id, result in results.items():
        result.missing = board_id not in heads
    return {b: subs for b, subs in batches.items() if b in heads}


class _ResendWeather:
    """
    Whether resends are about: after a reconnect wave most ticks carry some, and an optimistic
    insert would then pay for the insert twice. So once one is seen, the next calls probe
    first, until PESSIMISTIC_CALLS probes in a row found none. Per process, shared by the
    threads that append (a heuristic: a lost update only costs one probe more or less).
    """

    PESSIMISTIC_CALLS = 50

    def __init__(self) -> None:
        self.probes_left = 0

    def quiet(self) -> bool:
        return self.probes_left <= 0

    def probed(self, *, found: bool) -> None:
        self.probes_left = self.PESSIMISTIC_CALLS if found else self.probes_left - 1


_RESENDS = _ResendWeather()


def _sequence_all(
    results: dict[str, AppendResult],
    heads: dict[str, int],
    live: Mapping[str, Sequence[Submission]],
    known: dict[_Key, int],
    pack: Callable[[Any], bytes],
) -> list[_Row]:
    rows: list[_Row] = []
    for board_id, submissions in live.items():
        rows.extend(_sequence(results[board_id], heads[board_id], submissions, known, pack))
    return rows


def append_ops(
    *, board_id: str, author_id: int | None, client_id: str, ops: Sequence[Mapping[str, Any]]
) -> AppendResult:
    """
    Sequence and store one client's ops on one board (see append_batches).
    """
    batch = [Submission(client_id=client_id, author_id=author_id, op=op) for op in ops]
    return append_batches({board_id: batch})[board_id]


def find_stored(keys: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    """
    Return {(board_id, client_id, client_op_id): seq} for the keys already in the log.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    return _store().existing_seqs(wanted)


#: (board_id, seq, client_id, client_op_id, author_id, kind, payload): one Op row.
_Row = tuple[str, int, str, int, int | None, str, bytes]
#: (board_id, client_id, client_op_id): the idempotency key.
_Key = tuple[str, str, int]


def _keys(batches: Mapping[str, Sequence[Submission]]) -> set[_Key]:
    return {(b, sub.client_id, int(sub.op["i"])) for b, subs in batches.items() for sub in subs}


def _sequence(
    result: AppendResult,
    head: int,
    submissions: Iterable[Submission],
    known: dict[_Key, int],
    pack: Callable[[Any], bytes],
) -> list[_Row]:
    """
    Give new submissions consecutive seqs after `head`; ack known ones with their old seq.

    Each new op's wire entry is the op plus `s`, `c` and `u`, msgpack-packed: these bytes are
    stored and sent to every client as they are. `{**op, ...}` keeps the op's key order (and an
    op's own `s`, `c` or `u` in its place, overwritten), so the bytes depend only on the op.
    """
    board_id, acks, entries = result.board_id, result.acks, result.entries
    rows: list[_Row] = []
    seq = head
    for sub in submissions:
        op, client_id, author_id = sub.op, sub.client_id, sub.author_id
        op_id = int(op["i"])
        key = (board_id, client_id, op_id)
        stored = known.get(key)
        if stored is not None:
            acks[(client_id, op_id)] = stored
            result.duplicates.add((client_id, op_id))
            continue
        seq += 1
        known[key] = seq
        entry = {**op, "s": seq, "c": client_id, "u": author_id}
        payload = pack(entry)
        rows.append((board_id, seq, client_id, op_id, author_id, str(op["k"]), payload))
        acks[(client_id, op_id)] = seq
        entries.append(payload)
    if rows:
        result.first_seq, result.last_seq = head + 1, seq
    return rows


class _OrmStore:
    """
    The four statements of append_batches through the ORM (SQLite and other databases).
    """

    def lock_heads(self, board_ids: list[str]) -> dict[str, int]:
        query = Board.objects.select_for_update().filter(id__in=board_ids).order_by("id")
        return dict(query.values_list("id", "head_seq"))

    def existing_seqs(self, keys: set[_Key]) -> dict[_Key, int]:
        wanted: dict[tuple[str, str], list[int]] = {}
        for board_id, client_id, op_id in keys:
            wanted.setdefault((board_id, client_id), []).append(op_id)
        if not wanted:
            return {}
        query = Q()
        for (board_id, client_id), op_ids in wanted.items():
            query |= Q(board_id=board_id, client_id=client_id, client_op_id__in=op_ids)
        found = Op.objects.filter(query).values_list("board_id", "client_id", "client_op_id", "seq")
        return {(b, c, i): s for b, c, i, s in found}

    def insert(self, rows: list[_Row]) -> None:
        fields = ("board_id", "seq", "client_id", "client_op_id", "author_id", "kind", "payload")
        ops = [Op(**dict(zip(fields, row, strict=True))) for row in rows]
        Op.objects.bulk_create(ops, batch_size=INSERT_BATCH_SIZE)

    def bump_heads(self, heads: dict[str, int]) -> None:
        stale = timezone.now() - TOUCH_EVERY
        Board.objects.filter(id__in=list(heads)).update(
            head_seq=Case(*(When(id=b, then=Value(h)) for b, h in heads.items())),
            updated_at=Case(When(updated_at__lt=stale, then=Now()), default=F("updated_at")),
        )


def _store() -> _OrmStore | _PostgresStore:
    return _PostgresStore() if connection.vendor == "postgresql" else _OrmStore()


_BOARD = Board._meta.db_table
_OP = Op._meta.db_table
#: Op's columns in _Row order, then created_at (set once per tick, as auto_now_add would).
_COPY_FIELDS = (
    "board",
    "seq",
    "client_id",
    "client_op_id",
    "author",
    "kind",
    "payload",
    "created_at",
)


def _int_array(values: Iterable[int]) -> str:
    """
    A PostgreSQL array literal of integers, for a `%s::bigint[]` parameter.
    """
    return "{" + ",".join(map(str, values)) + "}"


def _text_array(values: Sequence[str]) -> str:
    """
    A PostgreSQL array literal of strings (every element double-quoted), for `%s::varchar[]`.
    """
    if not values:
        return "{}"
    # Inside double quotes only `"` and `\` are special. Ids almost never hold either, so one
    # scan of all of them (in C) decides whether the per-element escaping must run.
    everything = "".join(values)
    if '"' in everything or "\\" in everything:
        values = [v.replace("\\", "\\\\").replace('"', '\\"') for v in values]
    return '{"' + '","'.join(values) + '"}'


@cache
def _copy_statement() -> tuple[str, list[str]]:
    """
    The COPY statement for new Op rows and the PostgreSQL type of each column, from the model.
    """
    by_name = {f.name: f for f in Op._meta.concrete_fields}
    fields = [by_name[name] for name in _COPY_FIELDS]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    # db_type is e.g. "varchar(64)" or "integer"; psycopg's registry knows the bare names, and
    # binary COPY needs the exact type (int4 vs int8: the author id follows the user model).
    types = [str(f.db_type(connection)).split("(")[0] for f in fields]
    return f"COPY {_OP} ({columns}) FROM STDIN (FORMAT BINARY)", types


#: The new updated_at of a board whose head moves (TOUCH_EVERY, in SQL).
_TOUCHED = "CASE WHEN b.updated_at < now() - interval '1 minute' THEN now() ELSE b.updated_at END"


class _PostgresStore:
    """
    The same four statements on PostgreSQL, plus claim_seqs (lock and bump in one), with whole
    columns in one parameter each and rows by COPY.

    Building one ORM `Q` per (board, client) and model instances per row cost ~150 ms of CPU
    per tick with 50 boards on the 2-core box, capping a process far below the many-boards
    target; one parameter per column costs the same to compile for 1 op or 5,000. Those
    parameters are array literals built by str.join, not Python lists: psycopg dumps a list
    element by element in Python (~0.5 µs each, text or binary format alike), which made
    dumping the bulk of the tick's CPU. The rows themselves go in by binary COPY, whose row
    encoder is psycopg's C code (a 400-op tick: ~1.5-2 µs per op against ~8 for
    INSERT ... SELECT FROM unnest of array parameters). python -m bench.oplog_micro measures it.

    Rejected, measured with that benchmark: binary-format parameters (psycopg still dumps
    lists element by element: 8.0 -> 7.5 µs per op for the insert); pipelining the lock with
    the probe and the insert with the bump (fewer round trips, but no CPU gain above the
    noise); INSERT from array literals with bytea in hex (no COPY, similar CPU, more server
    work). The lock and the probe stay two statements: in one, the probe would read the
    snapshot taken before the lock was granted and miss ops a concurrent writer just stored.
    """

    _LOCK = (
        f"SELECT id, head_seq FROM {_BOARD} WHERE id = ANY(%s::varchar[]) ORDER BY id FOR UPDATE"
    )
    # A LATERAL probe per key (LIMIT 1 keeps the planner from flattening it into a join): as a
    # plain join the planner hashed the whole op table once the log outgrew a few thousand rows
    # (28 ms per tick at 40k rows, growing with the log).
    _EXISTING = (
        "SELECT k.b, k.c, k.i, o.seq "
        "FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[]) AS k(b, c, i) "
        f"CROSS JOIN LATERAL (SELECT seq FROM {_OP} WHERE board_id = k.b AND client_id = k.c "
        "AND client_op_id = k.i LIMIT 1) AS o"
    )
    _HEADS = (
        f"UPDATE {_BOARD} AS b SET head_seq = v.h, updated_at = {_TOUCHED} "
        "FROM unnest(%s::varchar[], %s::bigint[]) AS v(id, h) WHERE b.id = v.id"
    )
    # The lock (in id order, as _LOCK: concurrent writers never deadlock) and the bump in one
    # statement; it returns each board's head from before the bump.
    _CLAIM = (
        f"WITH locked AS ({_LOCK}) "
        f"UPDATE {_BOARD} AS b SET head_seq = l.head_seq + v.n, updated_at = {_TOUCHED} "
        "FROM locked AS l JOIN unnest(%s::varchar[], %s::bigint[]) AS v(id, n) ON v.id = l.id "
        "WHERE b.id = l.id RETURNING b.id, l.head_seq"
    )

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def lock_heads(self, board_ids: list[str]) -> dict[str, int]:
        return {b: int(h) for b, h in self._fetch(self._LOCK, [_text_array(board_ids)])}

    def existing_seqs(self, keys: set[_Key]) -> dict[_Key, int]:
        if not keys:
            return {}
        boards, clients, op_ids = zip(*keys, strict=True)
        params = [_text_array(boards), _text_array(clients), _int_array(op_ids)]
        return {(b, c, int(i)): int(s) for b, c, i, s in self._fetch(self._EXISTING, params)}

    def insert(self, rows: list[_Row]) -> None:
        statement, types = _copy_statement()
        now = timezone.now()
        with connection.cursor() as cursor, connection.wrap_database_errors:
            raw = cursor.cursor
            # set_types dumps bytea with the dumper registered last for its oid: the one for
            # psycopg's dbapi20 Binary wrapper, written in Python (~0.4 µs per row). Payloads
            # are plain bytes, so this cursor (its adapters are its own copy) maps bytea back
            # to the C bytes dumper.
            raw.adapters.register_dumper(bytes, raw.adapters.get_dumper(bytes, PyFormat.BINARY))
            with raw.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row((*row, now))

    def claim_seqs(self, counts: dict[str, int]) -> dict[str, int]:
        """
        Lock the boards, move each head on by its count; return the heads from before.
        """
        ids = _text_array(list(counts))
        params = [ids, ids, _int_array(counts.values())]
        return {b: int(h) for b, h in self._fetch(self._CLAIM, params)}

    def bump_heads(self, heads: dict[str, int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self._HEADS, [_text_array(list(heads)), _int_array(heads.values())])


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
