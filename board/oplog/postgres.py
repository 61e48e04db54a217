"""
The op log's storage path on PostgreSQL: whole columns in one parameter each, rows by COPY.

Not the ORM (board.oplog.orm) here: one `Q` per (board, client) and a model instance per row
cost enough CPU per tick to cap a process far below the many-boards target, while a statement
with one parameter per column costs the same to compile for 1 op or 5,000. Those parameters are
array literals built by str.join, not Python lists: psycopg dumps a list element by element in
Python, which would be the bulk of the tick's CPU. The rows go in by binary COPY, whose row
encoder is psycopg's C code. `python -m bench.oplog_micro` measures this path against an older
one; docs/performance.md §3.2 has the figures.

Rejected, measured with that benchmark: binary-format parameters (psycopg still dumps lists
element by element; no gain worth the code); pipelining the lock with the probe and the insert
with the bump (fewer round trips, but no CPU gain above the noise); INSERT from array literals
with bytea in hex (no COPY, similar CPU, more server work). The lock and the probe stay two
statements: in one, the probe would read the snapshot taken before the lock was granted and
miss ops a concurrent writer just stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone
from psycopg.adapt import PyFormat

from board.models import Board, Op
from board.oplog.sequence import Key, Row, Stored
from board.oplog.store import TOUCH_EVERY

_BOARD = Board._meta.db_table
_OP = Op._meta.db_table
#: Op's columns in Row order, then created_at (set once per tick, as auto_now_add would).
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
#: The new updated_at of a board whose head moves (TOUCH_EVERY, in SQL).
_TOUCHED = (
    f"CASE WHEN b.updated_at < now() - interval '{int(TOUCH_EVERY.total_seconds())} seconds' "
    "THEN now() ELSE b.updated_at END"
)


def int_array(values: Iterable[int]) -> str:
    """
    A PostgreSQL array literal of integers, for a `%s::bigint[]` parameter.
    """
    return "{" + ",".join(map(str, values)) + "}"


def text_array(values: Sequence[str]) -> str:
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


class PostgresStore:
    """
    The four statements of append_batches (board.oplog.store.OpStore), plus claim_seqs (lock
    and bump in one) for the optimistic append.
    """

    LOCK = f"SELECT id, head_seq FROM {_BOARD} WHERE id = ANY(%s::varchar[]) ORDER BY id FOR UPDATE"
    # A LATERAL probe per key (LIMIT 1 keeps the planner from flattening it into a join): as a
    # plain join the planner hashes the whole op table once the log outgrows a few thousand
    # rows, a cost per tick that grows with the log.
    EXISTING = (
        "SELECT k.b, k.c, k.i, o.seq, o.payload "
        "FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[]) AS k(b, c, i) "
        f"CROSS JOIN LATERAL (SELECT seq, payload FROM {_OP} WHERE board_id = k.b "
        "AND client_id = k.c AND client_op_id = k.i LIMIT 1) AS o"
    )
    HEADS = (
        f"UPDATE {_BOARD} AS b SET head_seq = v.h, updated_at = {_TOUCHED} "
        "FROM unnest(%s::varchar[], %s::bigint[]) AS v(id, h) WHERE b.id = v.id"
    )
    # The lock (in id order, as LOCK: concurrent writers never deadlock) and the bump in one
    # statement; it returns each board's head from before the bump.
    CLAIM = (
        f"WITH locked AS ({LOCK}) "
        f"UPDATE {_BOARD} AS b SET head_seq = l.head_seq + v.n, updated_at = {_TOUCHED} "
        "FROM locked AS l JOIN unnest(%s::varchar[], %s::bigint[]) AS v(id, n) ON v.id = l.id "
        "WHERE b.id = l.id RETURNING b.id, l.head_seq"
    )

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def lock_heads(self, board_ids: list[str]) -> dict[str, int]:
        return {b: int(h) for b, h in self._fetch(self.LOCK, [text_array(board_ids)])}

    def existing_ops(self, keys: set[Key]) -> dict[Key, Stored]:
        if not keys:
            return {}
        boards, clients, op_ids = zip(*keys, strict=True)
        params = [text_array(boards), text_array(clients), int_array(op_ids)]
        rows = self._fetch(self.EXISTING, params)
        return {(b, c, int(i)): (int(s), bytes(p)) for b, c, i, s, p in rows}

    def insert(self, rows: list[Row]) -> None:
        statement, types = _copy_statement()
        now = timezone.now()
        with connection.cursor() as cursor, connection.wrap_database_errors:
            raw = cursor.cursor
            # set_types dumps bytea with the dumper registered last for its oid: the one for
            # psycopg's dbapi20 Binary wrapper, written in Python. Payloads are plain bytes, so
            # this cursor (its adapters are its own copy) maps bytea back to the C bytes dumper.
            raw.adapters.register_dumper(bytes, raw.adapters.get_dumper(bytes, PyFormat.BINARY))
            with raw.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row((*row, now))

    def claim_seqs(self, counts: dict[str, int]) -> dict[str, int]:
        """
        Lock the boards, move each head on by its count; return the heads from before.
        """
        ids = text_array(list(counts))
        params = [ids, ids, int_array(counts.values())]
        return {b: int(h) for b, h in self._fetch(self.CLAIM, params)}

    def bump_heads(self, heads: dict[str, int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.HEADS, [text_array(list(heads)), int_array(heads.values())])
