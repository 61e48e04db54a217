"""
The Redis channel layer, on one Redis or spread over several (REDIS_URL with commas).

channels_redis places each key by a CRC of its name over the list of hosts: a group's member
set on one host, a process's channel (all its messages, one sorted set) on one host. Inkroom
has one group (`inkroom.pods`) and one channel per process, so with N hosts the group lives on
one of them and the processes' channels spread over all; a `group_send` reads the members on
the group's host and writes each member's copy on that member's host (docs/capacity.md).

One fix for several hosts: channels_redis's `send()` places a message for a process-local
channel (`specific.<process>!<id>`) by a hash of the whole name, while `receive()` and
`group_send()` use the part up to `!`, so with two hosts about half of such sends landed where
nobody reads them (django/channels_redis#220, open). `/readyz` sends to its own channel and
flapped. Hashing only the part up to `!` puts every message of a process on its host.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer


class ShardedRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """
    RedisChannelLayer whose `send()` to a process-local channel finds the host it is read on.
    """

    def consistent_hash(self, value: str | bytes) -> int:
        marker = "!" if isinstance(value, str) else b"!"
        cut = value.find(marker)  # type: ignore[arg-type]
        if cut >= 0:
            value = value[: cut + 1]
        return int(super().consistent_hash(value))
