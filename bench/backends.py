"""
Redis's and PostgreSQL's side of a run: what Inkroom asked of them over the window, in counts
that do not depend on how busy the box is (docs/capacity.md rests on them).

* Redis, for each URL of the layer (REDIS_URL, comma-separated shards): calls per command
  (`INFO commandstats`), bytes in and out (`INFO stats`), and the server's CPU (`INFO cpu`).
  Point the bench at a Redis of its own (BENCH_REDIS_URL) or others' traffic is counted too.
* PostgreSQL, for the bench database: the CPU of the backends connected to it (from /proc: same
  host only; backends that end within the window are missed) and the WAL written for it:
  records whose blocks are in the database, plus the commit records of their transactions,
  which also count the writing transactions (`pg_walinspect`, PostgreSQL 15+, created in the
  bench database if missing; left out when it cannot be). Not `pg_stat_database`: backends
  report to it up to 10 s late, a whole short run.

`snapshot()` before and after the window; `delta()` turns two into the row's `backends` field.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

#: Clock ticks per second of /proc/<pid>/stat's utime and stime.
CLK_TCK = os.sysconf("SC_CLK_TCK")

Snapshot = dict[str, Any]


def snapshot(redis_urls: list[str], database_url: str | None) -> Snapshot:
    """
    Counters of every Redis shard and of the bench database, now.
    """
    out: Snapshot = {"redis": [_redis(url) for url in redis_urls]}
    if database_url and urlsplit(database_url).scheme.startswith("postgres"):
        out["postgres"] = _postgres(database_url)
    return out


def _redis(url: str) -> dict[str, float]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        info = client.info("all")
    finally:
        client.close()
    counts = {
        "bytes_in": float(info["total_net_input_bytes"]),
        "bytes_out": float(info["total_net_output_bytes"]),
        "cpu_s": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        "memory_bytes": float(info["used_memory"]),
    }
    for key, value in info.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            counts["calls_" + key.removeprefix("cmdstat_")] = float(value["calls"])
    return counts


def _postgres(url: str) -> dict[str, Any]:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        found = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
        assert found is not None, f"no database {name}"
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        ]
        (lsn,) = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone() or ("",)
    return {"oid": found[0], "lsn": lsn, "cpu": _cpu_of(pids)}


def _cpu_of(pids: list[int]) -> dict[int, float]:
    """
    {pid: seconds of CPU used so far} of the processes still there.
    """
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def delta(before: Snapshot, after: Snapshot, database_url: str | None) -> dict[str, Any]:
    """
    What happened between two snapshots: per Redis shard and in total, and in the database.
    """
    shards = [
        {k: round(v - then.get(k, 0.0), 3) for k, v in now.items() if k != "memory_bytes"}
        for then, now in zip(before["redis"], after["redis"], strict=True)
    ]
    out: dict[str, Any] = {"redis_shards": shards}
    if shards:
        total: dict[str, float] = {}
        for shard in shards:
            for key, value in shard.items():
                total[key] = round(total.get(key, 0.0) + value, 3)
        out["redis"] = {k: v for k, v in total.items() if v}
    if "postgres" in before and "postgres" in after:
        out["postgres"] = _postgres_delta(before["postgres"], after["postgres"], database_url)
    return out


def _postgres_delta(then: dict[str, Any], now: dict[str, Any], url: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # A backend that connected within the window counts from zero: the pool opened it for us.
    out["backend_cpu_s"] = round(
        sum(cpu - then["cpu"].get(pid, 0.0) for pid, cpu in now["cpu"].items()), 3
    )
    if url:
        out.update(_wal(url, int(now["oid"]), then["lsn"], now["lsn"]))
    return out


def _wal(url: str, oid: int, start: str, end: str) -> dict[str, Any]:
    """
    WAL bytes (records and full-page images) written for the database between two LSNs.
    """
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
            row = conn.execute(
                """
                WITH r AS (
                    SELECT xid, record_length, fpi_length, resource_manager, record_type, block_ref
                    FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn)
                ), ours AS (
                    SELECT * FROM r WHERE block_ref ~ %s
                ), commits AS (
                    SELECT record_length FROM r
                    WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT'
                      AND xid IN (SELECT xid FROM ours WHERE xid <> 0)
                )
                SELECT
                    (SELECT coalesce(sum(record_length), 0) FROM ours),
                    (SELECT coalesce(sum(fpi_length), 0) FROM ours),
                    (SELECT count(*) FROM ours),
                    (SELECT coalesce(sum(record_length), 0) FROM commits),
                    (SELECT count(*) FROM commits)
                """,
                (start, end, rf"rel \d+/{oid}/"),
            ).fetchone()
    except psycopg.Error as error:
        return {"wal_error": str(error).splitlines()[0]}
    assert row is not None
    records, fpi, count, commit_bytes, commits = (int(v) for v in row)
    return {
        "wal_bytes": records + commit_bytes,  # full-page images included
        "wal_fpi_bytes": fpi,
        "wal_records": count,
        "write_transactions": commits,
    }


def unit_costs(row: dict[str, Any]) -> dict[str, float]:
    """
    The row's backend counts per acknowledged op, per committed tick and per layer message.
    """
    found = row.get("backends", {})
    metrics = row.get("server_metrics", {})
    ops = row.get("ops_acked") or 0
    ticks = (metrics.get("inkroom_batch_size") or {}).get("count") or 0
    published = metrics.get("inkroom_layer_messages_out") or 0
    out: dict[str, float] = {}
    redis_total = found.get("redis", {})
    calls = sum(v for k, v in redis_total.items() if k.startswith("calls_"))
    if ops:
        out["redis_calls_per_op"] = calls / ops
        out["redis_bytes_in_per_op"] = redis_total.get("bytes_in", 0.0) / ops
    if published:
        out["redis_calls_per_layer_message"] = calls / published
        out["redis_bytes_in_per_layer_message"] = redis_total.get("bytes_in", 0.0) / published
        out["redis_cpu_us_per_layer_message"] = 1e6 * redis_total.get("cpu_s", 0.0) / published
    pg = found.get("postgres", {})
    if ops and pg:
        out["pg_backend_cpu_us_per_op"] = 1e6 * pg["backend_cpu_s"] / ops
        if "wal_bytes" in pg:
            out["pg_wal_bytes_per_op"] = pg["wal_bytes"] / ops
    if ticks and "wal_bytes" in pg:
        out["pg_write_transactions_per_tick"] = pg["write_transactions"] / ticks
        out["pg_wal_bytes_per_tick"] = pg["wal_bytes"] / ticks
    return {k: round(v, 2) for k, v in out.items()}
