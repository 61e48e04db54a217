"""
Issue 18: a burst of API calls must not exhaust PostgreSQL's connections.

Two real server processes with a pool of POOL_MAX connections each; CLIENTS concurrent API
clients (half on each process) create and list boards while a sampler reads pg_stat_activity
every few milliseconds. No response may be a 5xx, and the servers together may never hold more
than 2 x POOL_MAX connections, however many request threads Hypercorn and asgiref start.

The servers log in as a role of their own with a CONNECTION LIMIT a little above that bound: the
sampler counts exactly their connections (not this process's nor anyone else's), and code that
does not bound its connections fails here with "too many connections for role" (the production
"too many clients already", scaled down) instead of taking every connection of the machine's
shared PostgreSQL, whose max_connections is 100.

Before the pool (a persistent connection per thread, DB_CONN_MAX_AGE=60) this failed: the role's
20 connections all taken, 1180 of the 1200 responses 500. With it: peak 10, no 5xx, ~8 s.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from psycopg import sql
from rest_framework.authtoken.models import Token

from board.models import Board
from tests.support import servers
from tests.support.servers import ServerProcess

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.requires_postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

#: DB_POOL_MAX_SIZE of each server: small, so 200 clients outnumber the connections 20 to 1.
POOL_MAX = 5
SERVERS = 2
CLIENTS = 200
#: Each client creates a board and lists its boards this many times.
ROUNDS = 3
#: The servers' role may open this many connections beyond the bound: enough to see unbounded
#: code overshoot in the samples, few enough to leave the shared server its other connections.
ROLE_HEADROOM = 10
SAMPLE_SECS = 0.005
#: Accounts the clients act as (token auth), so board lists differ and grow during the burst.
USERS = 20
HTTP_TIMEOUT_SECS = 60.0


@dataclass
class Sampler:
    """
    Counts the connections of one role in pg_stat_activity from a thread until stopped.
    """

    dsn: str
    role: str
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=10)

    def _run(self) -> None:
        query = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(query, (self.role,)).fetchone()
                self.samples.append(int(row[0]) if row else 0)
                time.sleep(SAMPLE_SECS)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def admin_dsn(settings_dict: dict[str, Any]) -> str:
    return servers.database_url(settings_dict).replace("postgres://", "postgresql://", 1)


@pytest.fixture
def server_role(transactional_db: Any) -> Iterator[str]:
    """
    A login role limited to 2 x POOL_MAX + ROLE_HEADROOM connections, allowed to use the test
    database's tables; dropped afterwards.
    """
    role = f"inkroom_pool_{uuid.uuid4().hex[:8]}"
    limit = SERVERS * POOL_MAX + ROLE_HEADROOM
    name = sql.Identifier(role)
    with psycopg.connect(admin_dsn(connection.settings_dict), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {}").format(name, limit))
        for grant in (
            "GRANT USAGE ON SCHEMA public TO {}",
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO {}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {}",
        ):
            admin.execute(sql.SQL(grant).format(name))
    yield role
    with psycopg.connect(admin_dsn(connection.settings_dict), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        admin.execute(sql.SQL("DROP OWNED BY {}").format(name))
        admin.execute(sql.SQL("DROP ROLE {}").format(name))


@pytest.fixture
def pooled_servers(
    server_role: str, start_inkroom: Callable[..., ServerProcess]
) -> list[ServerProcess]:
    """
    SERVERS processes logged in as `server_role`, each with a pool of POOL_MAX connections.

    Requesting server_role first means the servers are stopped before the role is dropped.
    """
    settings_dict = {**connection.settings_dict, "USER": server_role, "PASSWORD": ""}
    started = [
        start_inkroom(
            wait=False,
            DATABASE_URL=servers.database_url(settings_dict),
            DB_POOL_MAX_SIZE=str(POOL_MAX),
            DB_POOL_MIN_SIZE="1",
            # Generous: a 2-core CI box runs both servers and 200 client threads; the test is
            # about the bound on connections, not about how fast this box serves the queue.
            DB_POOL_TIMEOUT="30",
            # No channel layer needed for HTTP, so no Redis.
            REDIS_URL="",
            LOG_LEVEL="WARNING",
        )
        for _ in range(SERVERS)
    ]
    for server in started:
        server.wait_healthy()
    return started


@dataclass
class Tally:
    """
    Response statuses of every client, the first few 5xx bodies, and client-side failures.
    """

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, status: int, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500 and len(self.errors) < 5:
                self.errors.append(f"{method} {status}: {body[:200]!r}")


def api_client(
    server: ServerProcess, token: str, start: threading.Barrier, tally: Tally
) -> Callable[[], None]:
    """
    One client's work: wait for everybody, then ROUNDS x (create a board, list boards).
    """
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT_SECS)
        start.wait(timeout=60)
        try:
            for n in range(ROUNDS):
                body = json.dumps({"title": f"burst {n}"})
                for method, payload in (("POST", body), ("GET", None)):
                    conn.request(method, "/api/v1/boards/", body=payload, headers=headers)
                    response = conn.getresponse()
                    tally.add(method, response.status, response.read())
        except Exception as error:  # a refused or reset connection is a finding, not a crash
            with tally.lock:
                tally.failures.append(repr(error))
        finally:
            conn.close()

    return run


def test_api_burst_stays_within_the_pools(
    server_role: str, pooled_servers: list[ServerProcess]
) -> None:
    users = [get_user_model().objects.create(username=f"burst{n}") for n in range(USERS)]
    tokens = [Token.objects.create(user=user).key for user in users]
    tally = Tally()
    start = threading.Barrier(CLIENTS)
    clients = [
        threading.Thread(
            target=api_client(pooled_servers[n % SERVERS], tokens[n % USERS], start, tally),
            name=f"api-client-{n}",
        )
        for n in range(CLIENTS)
    ]
    bound = SERVERS * POOL_MAX
    with Sampler(admin_dsn(connection.settings_dict), server_role) as sampler:
        started = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=HTTP_TIMEOUT_SECS * 2 * ROUNDS)
        elapsed = time.monotonic() - started
    assert not any(c.is_alive() for c in clients), "some API clients never finished"
    assert not tally.failures, f"{len(tally.failures)} clients failed: {tally.failures[:5]}"
    statuses = tally.statuses
    requests = sum(statuses.values())
    print(
        f"[db pool] {CLIENTS} clients x {2 * ROUNDS} requests on {SERVERS} servers in "
        f"{elapsed:.1f} s: statuses {dict(statuses)}, connections peak {sampler.peak} "
        f"(bound {bound}) over {len(sampler.samples)} samples"
    )
    assert len(sampler.samples) > 10, "the sampler did not run during the burst"
    assert sampler.peak <= bound, (
        f"{sampler.peak} connections held by {SERVERS} servers with a pool of {POOL_MAX} each"
    )
    errors = sum(n for code, n in statuses.items() if code >= 500)
    assert errors == 0, f"{errors} of {requests} responses were 5xx: {tally.errors}"
    assert statuses == {201: CLIENTS * ROUNDS, 200: CLIENTS * ROUNDS}, dict(statuses)
    assert Board.objects.filter(owner__in=users).count() == CLIENTS * ROUNDS
