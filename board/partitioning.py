"""
Rebuilding the op log table (board_op) hash-partitioned by board on PostgreSQL, or back into one
table, while the service keeps writing to it (`manage.py partition_oplog`, docs/capacity.md).

How, so that no op is lost or doubled and writers wait only for a moment:

1. A new table `board_op_rebuild` with the same columns, constraints and indexes, partitioned by
   HASH (board_id) into N tables `board_op_h<N>_<i>` (or plain, for N = 0). A primary key on a
   partitioned table must hold the partition key, so it is (id, board_id) there; ids stay unique
   by their identity sequence, and every other key of the log already starts with board_id.
2. Mirror triggers on board_op copy every later insert, update and delete into the new table.
   Creating them waits for the writers in flight (a SHARE ROW EXCLUSIVE lock), so every row
   committed before them is in board_op, and every row after them reaches both tables.
3. The rows that were there are copied in batches of ids, one transaction each, skipping rows
   the mirror got first; progress is reported per batch.
4. One short transaction swaps them: board_op is locked against writes (reads go on), the new
   table's identity continues where the old one's stopped, the old table goes, the new one
   takes its name and its constraints' and indexes' names, and the log's reference triggers
   (migration 0002) are recreated on it.

Each lock is taken with a short lock_timeout and retried, so the command never waits in the
lock queue ahead of the ticks for long. Interrupted, it leaves board_op untouched; the next run
drops the half-built table and starts over.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.utils import OperationalError

from board.models import Op

TABLE = Op._meta.db_table
NEW = f"{TABLE}_rebuild"
#: Suffix of the new table's constraint and index names until the swap gives them the old ones.
TEMP_SUFFIX = "_rb"
#: How long one lock attempt waits before giving up and trying again (the ticks queue behind it).
LOCK_TIMEOUT = "2s"
LOCK_TRIES = 30
MIRROR_FUNCTION = f"{TABLE}_rebuild_mirror"
#: A progress line at most this often while rows are copied (and after the last batch).
PROGRESS_EVERY_SECS = 2.0

Say = Callable[[str], None]


class PartitioningError(Exception):
    """
    The op log cannot be rebuilt as asked; the message says why.
    """


@dataclass(frozen=True)
class Keys:
    """
    The op log's constraints, indexes and triggers as PostgreSQL states them.
    """

    #: (name, definition) of each PRIMARY KEY / UNIQUE constraint.
    constraints: list[tuple[str, str]]
    #: (name, CREATE INDEX statement) of each index that backs no constraint.
    indexes: list[tuple[str, str]]
    #: CREATE TRIGGER statements of the table's own triggers.
    triggers: list[str]


def partitions_now() -> int:
    """
    How many hash partitions board_op has (0: one plain table, as always on SQLite).
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [TABLE],
        )
        kind, children = cursor.fetchone()
    return int(children) if kind == "p" else 0


def rebuild(partitions: int, *, batch: int, say: Say) -> None:
    """
    Make board_op hash-partitioned in `partitions` tables (0: one plain table), online.
    """
    if connection.vendor != "postgresql":
        raise PartitioningError(
            f"partitioning the op log needs PostgreSQL; on {connection.vendor} it stays one table"
        )
    if partitions < 0 or partitions == 1 or batch < 1:
        raise PartitioningError("--partitions is 0 (one table) or at least 2; --batch at least 1")
    now = partitions_now()
    if now == partitions:
        say(f"{TABLE} is already {_layout(partitions)}; nothing to do")
        return
    say(f"{TABLE}: {_layout(now)} -> {_layout(partitions)}")
    keys = _keys()
    _create(partitions, keys, say)
    _copy(batch, say)
    _swap(keys, say)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    say(f"done: {TABLE} is {_layout(partitions_now())}")


def _layout(partitions: int) -> str:
    return f"hash-partitioned by board in {partitions}" if partitions else "one table"


def _keys() -> Keys:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), conindid FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname",
            [TABLE],
        )
        found = cursor.fetchall()
        backing = [row[2] for row in found]
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indexrelid = ANY(%s) ORDER BY c.relname",
            [TABLE, backing],
        )
        indexes = [(str(n), str(d)) for n, d in cursor.fetchall()]
        cursor.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgname NOT LIKE %s",
            [TABLE, f"{MIRROR_FUNCTION}%"],
        )
        triggers = [str(d) for (d,) in cursor.fetchall()]
    return Keys([(str(n), str(d)) for n, d, _ in found], indexes, triggers)


def _constraint_for(definition: str, partitioned: bool) -> str:
    """
    The constraint on the new table: a partitioned table's keys must hold board_id.
    """
    found = re.fullmatch(r"(PRIMARY KEY|UNIQUE) \((.*)\)", definition)
    if found is None:
        raise PartitioningError(f"cannot carry over the constraint {definition!r}")
    kind, columns = found.group(1), [c.strip() for c in found.group(2).split(",")]
    if partitioned and "board_id" not in columns:
        if kind != "PRIMARY KEY":
            raise PartitioningError(f"{definition} lacks board_id, the partition key")
        columns.append("board_id")
    if not partitioned and kind == "PRIMARY KEY" and columns == ["id", "board_id"]:
        columns = ["id"]
    return f"{kind} ({', '.join(columns)})"


def _on_new(statement: str) -> str:
    """
    An index or trigger statement of board_op, made for the new table.
    """
    return re.sub(rf" ON (ONLY )?(public\.)?{TABLE} ", f" ON {NEW} ", statement, count=1)


def _create(partitions: int, keys: Keys, say: Say) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [NEW])
        if cursor.fetchone()[0]:
            say(f"dropping {NEW}, left by an interrupted run")
        cursor.execute(f"DROP TABLE IF EXISTS {NEW}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {MIRROR_FUNCTION}() CASCADE")
        by = " PARTITION BY HASH (board_id)" if partitions else ""
        cursor.execute(
            f"CREATE TABLE {NEW} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING STORAGE){by}"
        )
        for i in range(partitions):
            cursor.execute(
                f"CREATE TABLE {TABLE}_h{partitions}_{i} PARTITION OF {NEW} "
                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i})"
            )
        for name, definition in keys.constraints:
            constraint = _constraint_for(definition, partitions > 0)
            cursor.execute(f"ALTER TABLE {NEW} ADD CONSTRAINT {name}{TEMP_SUFFIX} {constraint}")
        for name, statement in keys.indexes:
            cursor.execute(_on_new(statement).replace(f" {name} ", f" {name}{TEMP_SUFFIX} ", 1))
        columns = _columns(cursor)
        cursor.execute(
            f"CREATE FUNCTION {MIRROR_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('DELETE', 'UPDATE') THEN DELETE FROM {NEW} r USING gone "
            f"WHERE r.id = gone.id AND r.board_id = gone.board_id; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO {NEW} ({columns}) "
            f"SELECT {columns} FROM came ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$"
        )
    # The triggers wait for the writers in flight: from here on every write reaches both tables.
    for kind, tables in (
        ("INSERT", "NEW TABLE AS came"),
        ("DELETE", "OLD TABLE AS gone"),
        ("UPDATE", "OLD TABLE AS gone NEW TABLE AS came"),
    ):
        _locked(
            f"CREATE TRIGGER {MIRROR_FUNCTION}_{kind.lower()} AFTER {kind} ON {TABLE} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {MIRROR_FUNCTION}()",
            say,
        )
    say(f"created {NEW} ({_layout(partitions)}); new writes go to both tables")


def _columns(cursor: Any) -> str:
    cursor.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [TABLE],
    )
    return str(cursor.fetchone()[0])


def _locked(statement: str, say: Say, *, then: Callable[[Any], None] | None = None) -> None:
    """
    Run `statement` (and `then`) in one transaction, retrying while a lock is not granted soon.
    """
    for attempt in range(1, LOCK_TRIES + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(statement)
                if then is not None:
                    then(cursor)
            return
        except OperationalError as error:
            if "lock timeout" not in str(error) or attempt == LOCK_TRIES:
                raise
            say(f"waiting for a lock on {TABLE} (attempt {attempt} of {LOCK_TRIES})")
            time.sleep(0.5)


def _copy(batch: int, say: Say) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM {TABLE}")
        low, high = cursor.fetchone()
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [TABLE])
        estimate = max(0, int(cursor.fetchone()[0]))
        columns = _columns(cursor)
    say(f"copying ids {low}..{high} (about {estimate} rows) in batches of {batch}")
    started, copied, cursor_id = time.monotonic(), 0, int(low) - 1
    reported = started
    while cursor_id < high:
        upto = min(int(high), cursor_id + batch)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {NEW} ({columns}) SELECT {columns} FROM {TABLE} "
                "WHERE id > %s AND id <= %s ON CONFLICT DO NOTHING",
                [cursor_id, upto],
            )
            copied += max(0, cursor.rowcount)
        cursor_id = upto
        now = time.monotonic()
        if now - reported >= PROGRESS_EVERY_SECS or cursor_id >= high:
            reported = now
            share = (cursor_id - low + 1) / max(1, high - low + 1)
            say(
                f"  {copied} rows copied, ids up to {cursor_id} ({share:.0%}), "
                f"{copied / max(now - started, 1e-9):.0f} rows/s"
            )


def partition_key_name(key: str, partition: str) -> str:
    """
    The name of a partition's copy of the log's key `key` (e.g. op_unique_client_op_h4_0).
    """
    return f"{key}_{partition.removeprefix(TABLE + '_')}"


def names_key(constraint: str | None, key: str) -> bool:
    """
    Whether a violated constraint's name is the log's key `key` or a partition's copy of it:
    PostgreSQL names the partition's constraint in the error.
    """
    return constraint == key or (constraint or "").startswith(f"{key}_h")


def _name_partition_keys(cursor: Any) -> None:
    # PostgreSQL names each partition's copy of a key after the partition and its columns; the
    # append recognises a resend by the key's name (board.oplog.append), so name them after it.
    cursor.execute(
        "SELECT t.relname, c.conname, p.conname FROM pg_constraint c "
        "JOIN pg_constraint p ON p.oid = c.conparentid JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE p.conrelid = %s::regclass",
        [TABLE],
    )
    for partition, child, parent in cursor.fetchall():
        wanted = partition_key_name(str(parent), str(partition))
        cursor.execute(f"ALTER TABLE {partition} RENAME CONSTRAINT {child} TO {wanted}")


def _swap(keys: Keys, say: Say) -> None:
    def swap(cursor: Any) -> None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT coalesce(pg_sequence_last_value('{sequence}'), 0) + 1")
        (next_id,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {NEW} ALTER COLUMN id RESTART WITH {int(next_id)}")
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(f"DROP FUNCTION {MIRROR_FUNCTION}()")
        cursor.execute(f"ALTER TABLE {NEW} RENAME TO {TABLE}")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        (own,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {own} RENAME TO {sequence.split('.')[-1]}")
        for name, _ in keys.constraints:
            cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {name}{TEMP_SUFFIX} TO {name}")
        _name_partition_keys(cursor)
        for name, _ in keys.indexes:
            cursor.execute(f"ALTER INDEX {name}{TEMP_SUFFIX} RENAME TO {name}")
        for statement in keys.triggers:
            cursor.execute(statement)

    # Everything was copied already, so the swap is catalogue changes only: writers and readers
    # of the log wait for this one short transaction.
    _locked(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE", say, then=swap)
    say(f"swapped: {TABLE} is the new table, the old one is dropped")
