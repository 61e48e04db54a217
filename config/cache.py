"""
The default cache when REDIS_URL is set: Django's RedisCache, shared by every process, with two
changes for how Inkroom uses it.

* It fails over to this process's memory while Redis is unreachable. The cache holds only
  counters (the sign-in, sign-up and export throttles, api/throttles.py and api/history.py) and
  Redis is otherwise only the channel layer, whose outage costs live fan-out, never requests
  (docs/operations.md): a Redis restart must not turn every sign-in into a 500. For
  FAILOVER_SECS after an error the cache does not try Redis again, so a Redis that hangs costs
  one socket timeout, not one per call; meanwhile the limits hold per process.
* clear() deletes only this cache's keys (KEY_PREFIX). RedisCache's own clear() is FLUSHDB, which
  would also drop the channel layer's groups and messages living in the same database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: Seconds the cache serves from process memory after a Redis error before trying Redis again.
FAILOVER_SECS = 5.0

T = TypeVar("T")


class SharedRedisCache(RedisCache):
    """
    RedisCache that falls back to a process-local cache while Redis fails, and clears by prefix.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._local = LocMemCache(f"inkroom-failover-{id(self)}", params)
        self._redis_down_until = 0.0

    def _either(self, call: Callable[[RedisCache], T], local: Callable[[LocMemCache], T]) -> T:
        if time.monotonic() >= self._redis_down_until:
            try:
                return call(self)
            except RedisError as error:
                self._redis_down_until = time.monotonic() + FAILOVER_SECS
                logger.warning(
                    "cache: Redis failed (%r); counting in this process for %s s",
                    error,
                    FAILOVER_SECS,
                )
        return local(self._local)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._either(
            lambda c: RedisCache.add(c, key, value, timeout, version),
            lambda c: c.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._either(
            lambda c: RedisCache.get(c, key, default, version),
            lambda c: c.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._either(
            lambda c: RedisCache.set(c, key, value, timeout, version),
            lambda c: c.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._either(
            lambda c: RedisCache.touch(c, key, timeout, version),
            lambda c: c.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._either(
            lambda c: RedisCache.delete(c, key, version),
            lambda c: c.delete(key, version),
        )

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._either(
            lambda c: RedisCache.get_many(c, keys, version),
            lambda c: c.get_many(keys, version),
        )

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._either(
            lambda c: RedisCache.has_key(c, key, version),
            lambda c: c.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return self._either(
            lambda c: RedisCache.incr(c, key, delta, version),
            lambda c: c.incr(key, delta, version),
        )

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._either(
            lambda c: RedisCache.set_many(c, data, timeout, version),
            lambda c: c.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._either(
            lambda c: RedisCache.delete_many(c, keys, version),
            lambda c: c.delete_many(keys, version),
        )

    def clear(self) -> None:
        def delete_ours(_: RedisCache) -> None:
            client = self._cache.get_client(write=True)
            # make_key is "<KEY_PREFIX>:<version>:<key>"; SCAN, not KEYS, so a large keyspace
            # (the channel layer's) is walked in steps instead of blocking Redis.
            batch: list[Any] = []
            for name in client.scan_iter(match=f"{self._glob_prefix()}:*", count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)

        self._either(delete_ours, lambda c: c.clear())
        self._local.clear()

    def _glob_prefix(self) -> str:
        # KEY_PREFIX comes from CHANNEL_LAYER_PREFIX-like names; escape glob metacharacters.
        return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in self.key_prefix)
