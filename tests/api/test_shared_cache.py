"""
config.cache.SharedRedisCache: the default cache under REDIS_URL. It clears only its own keys
(the channel layer shares the database) and counts in process memory while Redis is down, so a
Redis outage does not fail sign-ins.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from config.cache import SharedRedisCache
from tests.support.servers import free_port

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.mark.requires_redis
def test_clear_deletes_only_this_caches_keys(raw: redis.Redis) -> None:
    prefix = f"hsec-{uuid.uuid4().hex[:8]}"
    cache = SharedRedisCache(REDIS_URL, {"KEY_PREFIX": f"{prefix}-cache"})
    neighbour = SharedRedisCache(REDIS_URL, {"KEY_PREFIX": f"{prefix}-other-cache"})
    layer_key = f"{prefix}:group:board-1"  # what channels-redis keeps in the same database
    raw.set(layer_key, b"x", ex=60)
    for n in range(2500):  # more than one SCAN batch
        cache.set(f"k{n}", n, timeout=60)
    neighbour.set("k", 1, timeout=60)
    cache.clear()
    assert cache.get("k1") is None and cache.get("k2499") is None
    assert raw.get(layer_key) == b"x"
    assert neighbour.get("k") == 1
    neighbour.clear()
    raw.delete(layer_key)


def test_a_redis_outage_falls_back_to_process_memory() -> None:
    # Nothing listens on this port: every Redis call fails at once (connection refused).
    cache = SharedRedisCache(
        f"redis://127.0.0.1:{free_port()}/0",
        {"KEY_PREFIX": "down", "OPTIONS": {"socket_connect_timeout": 0.5}},
    )
    assert cache.add("attempts", 0, timeout=60) is True
    assert cache.incr("attempts") == 1
    assert cache.incr("attempts") == 2
    assert cache.get("attempts") == 2
    cache.clear()
    assert cache.get("attempts") is None
