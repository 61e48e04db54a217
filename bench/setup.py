"""
Preparing Inkroom for a run through Django directly: the bench database, users, boards, tickets.

The bench process configures Django with the same environment it gives the server it spawns
(DATABASE_URL, SECRET_KEY, ...), so socket tickets it signs verify on the server. Every run
uses fresh boards, so nothing left in the log by an earlier run is delivered to a client.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

#: The bench's own database (pytest's is test_<name>); override with BENCH_DATABASE_URL.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/inkroom_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
BENCH_USERNAME = "bench"
#: Ops per append_ops call when seeding big boards: one transaction each, bounded memory.
SEED_CHUNK_OPS = 5000


def server_env(*, redis: bool) -> dict[str, str]:
    """
    The environment for both this process's Django and the spawned Inkroom servers.
    """
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        CHANNEL_LAYER_PREFIX="inkroom-bench",
        SECRET_KEY="inkroom-bench-secret-key",
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        # Tickets are signed before a run that may take minutes to connect and sweep.
        INKROOM_SOCKET_TICKET_SECS="3600",
        # Every bench client is the one bench user, thousands of them on one board (D).
        INKROOM_MAX_SOCKETS_PER_USER_BOARD="0",
        INKROOM_MAX_SOCKETS_PER_USER="0",
        INKROOM_MAX_SOCKETS_PER_BOARD="0",
    )
    if redis:
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    return env


def django_init(env: dict[str, str]) -> None:
    """
    Configure Django in this process from `env`, create the bench database and migrate it.
    """
    for key in ("DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG", "ALLOWED_HOSTS"):
        os.environ[key] = env[key]
    os.environ.pop("REDIS_URL", None)
    _ensure_database(env["DATABASE_URL"])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _ensure_database(url: str) -> None:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


def bench_user() -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    return user


def reset_boards() -> None:
    """
    Delete every board an earlier bench run left behind (their ops cascade), then VACUUM.

    Without the VACUUM the dead rows of every earlier run stay in the tables and their indexes
    until autovacuum gets to them, often during the next measurement: on 2026-12-04 the bench
    database had grown to 964 MB, and PostgreSQL's share of the box in C fell from 47 % to 26 %
    once it was vacuumed (docs/performance.md §3.2).
    """
    from django.db import connection

    from board.models import Board, Op, Snapshot

    Board.objects.filter(owner__username=BENCH_USERNAME).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Op, Snapshot, Board):
                cursor.execute(
                    f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}"
                )


def create_boards(n: int, title: str) -> list[str]:
    """
    Create `n` boards owned by the bench user; return their ids.
    """
    from board.models import Board, Membership, Role

    user = bench_user()
    boards = Board.objects.bulk_create([Board(owner=user, title=f"{title} {k}") for k in range(n)])
    Membership.objects.bulk_create(
        [Membership(board=b, user=user, role=Role.OWNER) for b in boards]
    )
    return [b.id for b in boards]


def tickets(board_id: str, count: int) -> list[str]:
    """
    `count` socket tickets for the bench user on `board_id`: a ticket opens one socket.
    """
    from board.access import issue_socket_tickets

    return issue_socket_tickets(user_id=bench_user().pk, board_id=board_id, count=count)


def seed_strokes(board_id: str, n_ops: int, *, client_id: str = "benchseed") -> int:
    """
    Append `n_ops` ops (strokes: one `add` then `app`s of 4 points) to the log; return head seq.
    """
    from board.oplog import append_ops

    user = bench_user()
    head = 0
    i = 0
    while i < n_ops:
        ops: list[dict[str, Any]] = []
        for _ in range(min(SEED_CHUNK_OPS, n_ops - i)):
            i += 1
            stroke, k = divmod(i - 1, 50)
            eid = f"seed-{stroke}"
            if k == 0:
                el = {"id": eid, "type": "stroke", "x": stroke % 1000, "y": stroke // 1000,
                      "style": {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None},
                      "p": [0, 0]}  # fmt: skip
                ops.append({"i": i, "k": "add", "el": el})
            else:
                ops.append({"i": i, "k": "app", "id": eid, "p": [1, 2, 2, 1, -1, 3, 2, -2]})
        head = append_ops(
            board_id=board_id, author_id=user.pk, client_id=client_id, ops=ops
        ).last_seq
    return head


def seed_elements(board_id: str, n_elements: int) -> int:
    """
    Append `n_elements` small strokes as `add` ops, then snapshot the board; return head seq.
    """
    from board.oplog import append_ops
    from board.snapshots import create_snapshot

    user = bench_user()
    head = 0
    for start in range(0, n_elements, SEED_CHUNK_OPS):
        ops = [
            {"i": k + 1, "k": "add", "el": {
                "id": f"e{k}", "type": "stroke", "x": k % 2000, "y": k // 2000,
                "style": {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None},
                "p": [0, 0, 3, 1, 2, 2, 1, 3, 0, 4, -1, 3, -2, 2, -3, 1]}}
            for k in range(start, min(start + SEED_CHUNK_OPS, n_elements))
        ]  # fmt: skip
        head = append_ops(
            board_id=board_id, author_id=user.pk, client_id="benchseed", ops=ops
        ).last_seq
    create_snapshot(board_id)
    return head
