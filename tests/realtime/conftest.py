"""
Fixtures of the in-process engine tests: the ASGI app, channel layers (in-memory and real
Redis), `connect` (a tests.support.sockets.Client on a board, protocol v1 or v2), a hub on a
fake clock, and hub cleanup. The real-server fixtures (`server_env`, `start_inkroom`) come from
tests.support.servers, registered by tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from board.access import issue_socket_ticket
from realtime.asgi.routing import build_application
from realtime.engine import hub as hub_module
from realtime.engine.drain import PROCESS_DRAIN
from realtime.engine.hub import get_hub
from realtime.wire import protocol
from tests.support.clock import FakeClock
from tests.support.sockets import RECV_TIMEOUT_SECS, Client, ConnectFn

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX", "inkroom-rt")

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": PREFIX, "capacity": 1000, "expiry": 10},
    }
}


def flush_prefix() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.requires_redis)])
def layer(request: pytest.FixtureRequest) -> Any:
    """
    Run the test once on the in-memory layer and once on the real Redis layer.
    """
    if request.param == "redis":
        flush_prefix()
    with override_settings(
        CHANNEL_LAYERS=REDIS_LAYER if request.param == "redis" else MEMORY_LAYER
    ):
        yield request.param
    if request.param == "redis":
        flush_prefix()


@pytest.fixture
def memory_layer() -> Any:
    with override_settings(CHANNEL_LAYERS=MEMORY_LAYER):
        yield "memory"


@pytest.fixture
def app() -> Any:
    from django.core.asgi import get_asgi_application

    return build_application(get_asgi_application())


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """
    The clock of the hub the test's first socket creates: it stands still until the test calls
    `advance`, so budgets refill, presence throttles, send stalls and gap waits expire only when
    told. (Ticks still run on the event loop's own time, so frames keep flowing.)
    """
    clock = FakeClock()

    class ClockedHub(hub_module.Hub):
        def __init__(self, **options: Any) -> None:
            super().__init__(**{**options, "clock": clock, "sleep": clock.sleep})

    monkeypatch.setattr(hub_module, "Hub", ClockedHub)
    return clock


@pytest.fixture
async def hub_cleanup(transactional_db: Any) -> AsyncIterator[None]:
    """
    Close the test loop's hub (tasks, group membership, thread DB connections) afterwards, and
    end a drain the test began (the flag is the process's).
    """
    yield
    hub = get_hub()
    await hub.close()
    PROCESS_DRAIN.clear()
    # database_sync_to_async (admission) keeps a connection in asgiref's shared thread; close it
    # or the test database cannot be dropped at the end of the session.
    await sync_to_async(connections.close_all)()


@pytest.fixture
def connect(app: Any, hub_cleanup: None) -> ConnectFn:
    """
    Open a socket on a board as `user` (ticket auth) and read `hello` (unless expecting a close).
    """

    async def open_socket(
        board: Any,
        user: Any = None,
        *,
        since: int = 0,
        client_id: str | None = None,
        query: str = "",
        headers: list[tuple[bytes, bytes]] | None = None,
        expect_hello: bool = True,
        application: Any = None,
        version: int = 1,
    ) -> Client:
        parts = [f"v={version}&since={since}"]
        if client_id:
            parts.append(f"client_id={client_id}")
        if user is not None:
            ticket = await sync_to_async(issue_socket_ticket)(user_id=user.pk, board_id=board.id)
            parts.append(f"token={ticket}")
        if query:
            parts.append(query)
        path = f"/ws/boards/{board.id}/?{'&'.join(parts)}"
        comm = WebsocketCommunicator(application or app, path, headers=headers or [])
        connected, _ = await comm.connect(timeout=RECV_TIMEOUT_SECS)
        assert connected
        client = Client(comm)
        if expect_hello:
            client.hello = await client.expect(protocol.Hello)
        return client

    return open_socket
