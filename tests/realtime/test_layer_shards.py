"""
The channel layer over two Redis shards (REDIS_URL with a comma; config/channel_layer.py): the
settings spread the layer over every URL, a message to a process's own channel arrives (the
readiness probe's round trip), and hubs in the pods group hear each other when their channels
live on different shards. Two private redis-servers on free ports, never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.test import AsyncClient, override_settings

from config.channel_layer import ShardedRedisChannelLayer
from realtime.cluster.fanout import PODS_GROUP
from tests.support.services import PrivateRedis

REPO = Path(__file__).resolve().parents[2]
PREFIX = "inkroom-shards-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def shards() -> Iterator[list[str]]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/ensure-services.sh)")
    log_dir = Path(tempfile.mkdtemp(prefix="inkroom-shards-"))
    servers = [PrivateRedis(_free_port(), log_dir) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


def _layer(urls: list[str]) -> ShardedRedisChannelLayer:
    return ShardedRedisChannelLayer(hosts=urls, prefix=PREFIX, capacity=100, expiry=10)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, config.settings as s; "
        "print(json.dumps([s.CHANNEL_LAYERS['default'], s.CACHES['default']['LOCATION']]))"
    )
    base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_spread_the_layer_over_every_url_and_keep_the_cache_on_the_first() -> None:
    done = _settings(REDIS_URL="redis://10.0.0.1:6379/0, rediss://:pw@10.0.0.2:6380/2")
    assert done.returncode == 0, done.stderr
    layer, cache_location = json.loads(done.stdout.strip().splitlines()[-1])
    assert layer["BACKEND"] == "config.channel_layer.ShardedRedisChannelLayer"
    addresses = [host["address"] for host in layer["CONFIG"]["hosts"]]
    assert addresses == ["redis://10.0.0.1:6379/0", "rediss://:pw@10.0.0.2:6380/2"]
    assert cache_location == "redis://10.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("redis://10.0.0.1:6379/0,10.0.0.2:6379", "item 2 ('10.0.0.2:6379')"),
        ("redis://10.0.0.1:6379/0,", "item 2 ('(empty)')"),
        ("redis://a:6379/0,redis://a:6379/0", "the same Redis URL twice"),
    ],
)
def test_a_bad_redis_url_list_stops_the_start_naming_the_item(value: str, named: str) -> None:
    done = _settings(REDIS_URL=value)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and named in done.stderr, done.stderr[-600:]


async def test_a_message_to_a_process_channel_arrives_with_two_shards(shards: list[str]) -> None:
    layer = _layer(shards)
    try:
        # Channel names are random: 24 of them miss the reading shard ~12 times without the fix.
        for _ in range(24):
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "ping"})
            assert await asyncio.wait_for(layer.receive(channel), 2.0) == {"type": "ping"}
    finally:
        await layer.flush()


@pytest.mark.django_db(transaction=True)
@pytest.mark.requires_postgres
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
async def test_readyz_answers_every_probe_with_two_shards(shards: list[str]) -> None:
    layers = {
        "default": {
            "BACKEND": "config.channel_layer.ShardedRedisChannelLayer",
            "CONFIG": {"hosts": shards, "prefix": PREFIX},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        answers = [(await AsyncClient().get("/readyz")).status_code for _ in range(12)]
    assert answers == [200] * 12


def _shard_of(layers: list[ShardedRedisChannelLayer], channel: str) -> int:
    return layers[0].consistent_hash(channel)


async def test_hubs_hear_each_other_through_the_pods_group_across_shards(
    shards: list[str],
) -> None:
    # One layer per "process", until two processes' channels live on different shards.
    layers: list[ShardedRedisChannelLayer] = []
    channels: list[str] = []
    while len({_shard_of(layers, c) for c in channels}) < 2:
        layer = _layer(shards)
        channel = await layer.new_channel()
        if channels and _shard_of([layer], channel) == _shard_of(layers, channels[0]):
            continue
        layers.append(layer)
        channels.append(channel)
    try:
        for layer, channel in zip(layers, channels, strict=True):
            await layer.group_add(PODS_GROUP, channel)
        await layers[0].group_send(PODS_GROUP, {"type": "board.batch", "origin": "a"})
        for layer, channel in zip(layers, channels, strict=True):
            got = await asyncio.wait_for(layer.receive(channel), 2.0)
            assert got == {"type": "board.batch", "origin": "a"}
        # Where things live: the group on the shard its name hashes to, each process's
        # messages on its own channel's shard.
        clients = [redis.Redis.from_url(url) for url in shards]
        group_key = f"{PREFIX}:group:{PODS_GROUP}"
        holding = [i for i, c in enumerate(clients) if c.exists(group_key)]
        assert holding == [layers[0].consistent_hash(PODS_GROUP)]
        await layers[1].group_send(PODS_GROUP, {"type": "board.batch", "origin": "b"})
        for channel in channels:
            key = PREFIX + channel[: channel.index("!") + 1]
            on_shard = [c.zcard(key) for c in clients]
            expected = [0, 0]
            expected[_shard_of(layers, channel)] = 1
            assert on_shard == expected, f"{key}: each process's copy waits on its own shard"
    finally:
        await layers[0].flush()
        for layer in layers:
            await layer.close_pools()
