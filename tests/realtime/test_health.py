"""
The process probes /healthz and /readyz (realtime.server.views), in process against real PostgreSQL
and Redis: ready when both answer and the process is not draining, 503 naming the failed check.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import AsyncClient, override_settings

from realtime.engine.drain import PROCESS_DRAIN, is_draining

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.requires_postgres,
    # WhiteNoise warns when collectstatic has not run (a source checkout); not what we test.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def draining() -> Iterator[None]:
    PROCESS_DRAIN.begin()
    yield
    PROCESS_DRAIN.clear()


def _dead_port() -> int:
    # Bound but never listening: connections to it are refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _get(path: str) -> tuple[int, dict[str, Any]]:
    response = await AsyncClient().get(path)
    return response.status_code, json.loads(response.content)


async def test_healthz_is_ok() -> None:
    assert await _get("/healthz") == (200, {"status": "ok"})


@pytest.mark.requires_redis
async def test_readyz_is_ok_when_database_and_layer_answer() -> None:
    assert await _get("/readyz") == (200, {"status": "ok"})


async def test_readyz_fails_while_draining_and_healthz_stays_ok(draining: None) -> None:
    assert is_draining()
    assert await _get("/readyz") == (503, {"status": "unavailable", "failed": "draining"})
    assert (await _get("/healthz"))[0] == 200


async def test_readyz_names_an_unreachable_channel_layer() -> None:
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_dead_port()}/0"]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        status, body = await _get("/readyz")
    assert status == 503
    assert body["failed"] == "channel_layer"
