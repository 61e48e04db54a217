"""
Two real servers sharing PostgreSQL and Redis: concurrent drawing, a lost channel-layer delivery
recovered through gap detection, and a server killed with SIGKILL mid-stream.

The clients speak the real protocol (tests/support/wsclient.py). At the end every op any client
created is in the log exactly once at the seq it was acked with, and every client's state equals
board.snapshots.state_at(board).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
from django.conf import settings
from rest_framework.authtoken.models import Token

from board.models import Membership, Role
from tests.support import servers
from tests.support.servers import ServerProcess
from tests.support.wsclient import (
    BoardClient,
    assert_durable,
    converge,
    settled_head,
    token_header,
)

pytestmark = servers.REAL_SERVER_MARKS


#: Pause between strokes of a continuously drawing client (seconds).
STROKE_PAUSE_SECS = 0.02


class Pods:
    """
    The channel-layer group memberships of the servers, read and edited in Redis directly.
    """

    def __init__(self, prefix: str) -> None:
        self.redis = redis.Redis.from_url(settings.REDIS_URL)
        self.prefix = prefix

    def group_keys(self) -> list[bytes]:
        return list(self.redis.scan_iter(match=f"{self.prefix}:group:*"))

    def members(self) -> set[tuple[bytes, bytes]]:
        return {(key, m) for key in self.group_keys() for m in self.redis.zrange(key, 0, -1)}

    def remove(self, members: set[tuple[bytes, bytes]]) -> None:
        for key, member in members:
            self.redis.zrem(key, member)

    def add(self, members: set[tuple[bytes, bytes]]) -> None:
        for key, member in members:
            self.redis.zadd(key, {member: time.time()})

    def close(self) -> None:
        self.redis.close()


async def draw_until(client: BoardClient, stop: asyncio.Event, x: int) -> None:
    n = 0
    while not stop.is_set():
        await client.draw_stroke(points=4, chunk=2, x=x, y=n)
        n += 1
        await asyncio.sleep(STROKE_PAUSE_SECS)


async def follow(client: BoardClient, fallback: ServerProcess, path: str) -> None:
    """
    When the client's server dies, reconnect it to `fallback` (since = applied, same id).
    """
    await client.wait_disconnected(timeout=30)
    await client.reconnect(fallback.ws_url(path))


async def draw_all(clients: list[BoardClient], strokes: int) -> None:
    async def one(client: BoardClient, x: int) -> None:
        for n in range(strokes):
            await client.draw_stroke(points=5, chunk=2, x=x, y=n)
            await asyncio.sleep(0.005)

    await asyncio.gather(*(one(c, 100 * k) for k, c in enumerate(clients)))
    for client in clients:
        await client.wait_acked()
    await converge(clients, settled_head(clients))


async def drop_then_recover(
    pods: Pods, hidden: set[tuple[bytes, bytes]], left: list[BoardClient], right: list[BoardClient]
) -> None:
    """
    Remove the right server from the layer group while a left client draws, then restore it.
    """
    assert hidden, f"no group member of the second server under {pods.prefix}:group:*"
    pods.remove(hidden)
    try:
        await left[0].draw_stroke(points=5, chunk=2, x=-50)
        await left[0].wait_acked()
        await converge(left, settled_head(left))
        await asyncio.sleep(0.3)
        assert all(c.applied < settled_head(left) for c in right), "the drop did not happen"
    finally:
        pods.add(hidden)
    # The next live batch reaches the right server with a seq gap, which it (or its clients)
    # must fill from the log.
    await left[0].draw_stroke(points=3, chunk=2, x=-60)
    await left[0].wait_acked()
    await converge(left + right, settled_head(left))


async def kill_mid_stream(
    victim: ServerProcess,
    survivor: ServerProcess,
    moved: list[BoardClient],
    others: list[BoardClient],
    path: str,
) -> float:
    """
    SIGKILL `victim` while everyone draws; its clients move to `survivor`. Return reconnect secs.
    """
    stop = asyncio.Event()
    clients = moved + others
    drawing = [asyncio.create_task(draw_until(c, stop, 30 * k)) for k, c in enumerate(clients)]
    moving = [asyncio.create_task(follow(c, survivor, path)) for c in moved]
    await asyncio.sleep(0.5)
    await asyncio.to_thread(victim.kill)
    killed_at = time.monotonic()
    await asyncio.gather(*moving)
    reconnect_secs = time.monotonic() - killed_at
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*drawing)
    for client in clients:
        await client.wait_acked(timeout=15)
    await converge(clients, settled_head(clients))
    return reconnect_secs


def gap_counters(server: ServerProcess) -> float:
    """
    Return the server's inkroom_gaps_detected_total + inkroom_layer_drops_total.

    A hub counts a gap when frames wait ahead of one, or when its periodic head check finds the
    log ahead of what it delivered, and a layer drop when it fills a gap from the log; which one
    moves depends on timing, so the test watches their sum.
    """
    total = 0.0
    for line in server.get("/metrics")[1].decode().splitlines():
        name, _, value = line.partition(" ")
        if name in ("inkroom_gaps_detected_total", "inkroom_layer_drops_total"):
            total += float(value)
    return total


def test_two_servers_converge_through_layer_drop_and_kill(
    start_inkroom: Any, server_env: dict[str, str], board: Any, user: Any, make_user: Any
) -> None:
    editor = make_user("bob")
    Membership.objects.create(board=board, user=editor, role=Role.EDITOR)
    headers = [token_header(Token.objects.create(user=u).key) for u in (user, editor)]
    path = f"/ws/boards/{board.id}/"
    left, right = start_inkroom(wait=False), start_inkroom(wait=False)
    left.wait_healthy()
    right.wait_healthy()
    pods = Pods(server_env["CHANNEL_LAYER_PREFIX"])
    # One client per server speaks protocol v2: its DOWN_OPS frames are encoded from entries
    # that came from the other server too (the decoding path of realtime.wire.handles).
    a = [
        BoardClient(left.ws_url(path), headers=headers[n % 2], name=f"a{n}", version=1 + n)
        for n in range(2)
    ]
    b = [
        BoardClient(right.ws_url(path), headers=headers[n % 2], name=f"b{n}", version=1 + n)
        for n in range(2)
    ]
    figures: dict[str, float] = {}

    async def scenario() -> None:
        for client in a:
            await client.connect()
        left_members = pods.members()
        for client in b:
            await client.connect()
        await draw_all(a + b, strokes=4)
        # Concurrent writers on two servers create gaps by themselves (each server commits
        # before it hears of the other's batch), so count only those seen across the drop.
        client_gaps = sum(c.gaps_seen for c in b)
        server_gaps = await asyncio.to_thread(gap_counters, right)
        await drop_then_recover(pods, pods.members() - left_members, a, b)
        figures["client_gaps"] = sum(c.gaps_seen for c in b) - client_gaps
        figures["server_gaps"] = await asyncio.to_thread(gap_counters, right) - server_gaps
        figures["reconnect_secs"] = await kill_mid_stream(left, right, a, b, path)
        for client in a + b:
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        pods.close()
    durable = assert_durable(a + b, board.id)
    print(f"two servers: {durable.seq} ops, {figures}")
    assert figures["client_gaps"] + figures["server_gaps"] > 0, "the drop was not seen as a gap"
