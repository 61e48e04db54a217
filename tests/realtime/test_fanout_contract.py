"""
The fan-out contract, run against the in-memory and the real Redis channel layer: what sync code
publishes (a domain event, board.events) arrives only after commit, and two hubs (two processes'
worth of rooms, here in one event loop) exchange per-tick batches, presence and cursors and
repair what the layer loses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from prometheus_client import REGISTRY

from board.events import BoardChanged, send_on_commit
from realtime.cluster.fanout import PODS_GROUP
from realtime.engine import inbound
from realtime.engine.hub import Hub, get_hub
from realtime.engine.room import Peer
from realtime.wire import protocol
from tests.support import refclient
from tests.support.ops import append, stroke
from tests.support.sockets import collect_ops

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


def gaps() -> float:
    return REGISTRY.get_sample_value("inkroom_gaps_detected_total") or 0.0


def publish_title(board: Any, title: str, *, commit: bool) -> None:
    try:
        with transaction.atomic():
            send_on_commit(BoardChanged(board.id, title=title, link_access="none"))
            if not commit:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass


async def test_sync_code_publishes_only_what_commits(layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(publish_title)(board, "rolled back", commit=False)
    await sync_to_async(publish_title)(board, "committed", commit=True)
    meta = await client.expect(protocol.BoardMeta)
    assert meta.title == "committed"


class RemotePeer:
    """
    A socket on a second hub, reading what that hub sends it.
    """

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        await self.frames.put(message)

    async def next_ops(self, timeout: float = 3.0) -> bytes:
        while True:
            message = await asyncio.wait_for(self.frames.get(), timeout)
            data = message.get("bytes")
            if data is not None and msgpack.unpackb(data)["t"] == "ops":
                return bytes(data)

    async def next_text(self, kind: type, timeout: float = 3.0) -> Any:
        while True:
            message = await asyncio.wait_for(self.frames.get(), timeout)
            if message.get("text") is not None:
                msg = refclient.decode_server_text(message["text"])
                if isinstance(msg, kind):
                    return msg


async def second_hub(board: Any, user: Any) -> tuple[Hub, Peer, RemotePeer]:
    hub = Hub()
    remote = RemotePeer()
    info = {
        "board": {"id": board.id, "title": board.title, "link_access": "none"},
        "client_id": "remote-peer-1",
        "user_id": user.pk,
        "user_name": user.username,
        "role": "owner",
        "share": None,
    }
    peer = await hub.join(info, remote.send, 0)
    return hub, peer, remote


async def hears_each_other(local: Any) -> None:
    """
    Wait until the local socket sees the second hub's peer in presence: both hubs are then in
    the pods group (a batch sent before the second hub joined it would never reach it).
    """
    while True:
        presence = await local.expect(protocol.Presence)
        if {c["client_id"] for c in presence.clients} == {"local-peer-1", "remote-peer-1"}:
            return


async def test_two_hubs_exchange_batches_presence_and_cursors(layer, connect, board, user):
    local = await connect(board, user, client_id="local-peer-1")
    await local.sync()
    hub2, peer2, remote = await second_hub(board, user)
    try:
        await hears_each_other(local)  # presence crosses hubs
        await local.send_ops([stroke(1, "s1"), append(2, "s1")])
        frame = await remote.next_ops()
        assert [e["s"] for e in msgpack.unpackb(frame)["ops"]] == [1, 2]
        inbound.on_binary(hub2, peer2, msgpack.packb({"t": "ops", "ops": [append(1, "s1")]}))
        assert await collect_ops(local, 3) == [1, 2, 3]
        inbound.on_binary(hub2, peer2, msgpack.packb({"t": "cur", "x": 4, "y": 2}))
        assert (await local.expect(protocol.Cursors)).c == [["remote-peer-1", 4, 2]]
    finally:
        await hub2.close()
    await local.close()


async def test_a_batch_lost_between_hubs_is_repaired_from_the_log(layer, connect, board, user):
    local = await connect(board, user, client_id="local-peer-1")
    await local.sync()
    hub2, peer2, remote = await second_hub(board, user)
    try:
        await hears_each_other(local)
        gaps_before = gaps()
        await local.send_ops([stroke(1, "s1")])
        assert [e["s"] for e in msgpack.unpackb(await remote.next_ops())["ops"]] == [1]
        # The layer loses hub 2's next message: hub 1's channel is out of the group meanwhile.
        hub1 = get_hub()
        await hub1.layer.group_discard(PODS_GROUP, hub1.channel)
        inbound.on_binary(hub2, peer2, msgpack.packb({"t": "ops", "ops": [append(1, "s1")]}))
        await asyncio.sleep(0.3)
        await hub1.layer.group_add(PODS_GROUP, hub1.channel)
        inbound.on_binary(hub2, peer2, msgpack.packb({"t": "ops", "ops": [append(2, "s1")]}))
        # Seq 3 arrives, 2 is missing: held, then read from the log after gap_wait_ms.
        assert await collect_ops(local, 3) == [1, 2, 3]
        assert gaps() > gaps_before
    finally:
        await hub2.close()
    await local.close()


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


#: The origin of the stand-in for a second process in the test below.
FAKE_POD = "fake-pod-2"


async def layer_messages(layer_: Any, channel: str, wait: float) -> list[dict[str, Any]]:
    """
    What the layer delivered to `channel` within `wait` seconds, except the stand-in's own.
    """
    out: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while (left := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(layer_.receive(channel), left)
        except TimeoutError:
            break
        if message.get("origin") != FAKE_POD:
            out.append(message)
    return out


async def test_round_trips_per_tick_do_not_grow_with_boards(
    layer, connect, user, make_board, settings
):
    settings.INKROOM = {**settings.INKROOM, "TICK_MS": 200, "FLUSH_IDLE_CPU": 0}  # one wide tick
    boards = [await sync_to_async(make_board)(user, title=f"b{k}") for k in range(20)]
    ids = {board.id for board in boards}
    # A second process holding all 20 boards, on a channel of its own in the pods group: a lone
    # hub publishes no ticks at all (they go only to hubs that hold the board), so without it
    # the bound on layer messages below would hold whatever the hub did per board.
    layer_ = get_channel_layer()
    other = await layer_.new_channel()
    await layer_.group_add(PODS_GROUP, other)
    try:
        clients = []
        for board in boards:
            client = await connect(board, user)
            await client.sync()
            clients.append(client)
        # It announces its rooms as a hub does (realtime.cluster.pods); the hub answers with
        # its own presence for each board, once it counts the stand-in as a holder.
        announcement = {
            "type": "board.batch",
            "origin": FAKE_POD,
            "boards": {},
            "presence": {board_id: [] for board_id in ids},
            "rooms": sorted(ids),
        }
        await layer_.group_send(PODS_GROUP, announcement)
        answered: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while answered != ids and loop.time() < deadline:
            for message in await layer_messages(layer_, other, 0.3):
                answered.update(message.get("rooms", []))
        assert answered == ids, f"the hub answered for {len(answered)} of 20 boards"
        await layer_messages(layer_, other, 0.5)  # let the joins' presence ticks pass
        commits = sample("inkroom_batch_size_count")
        messages = sample("inkroom_layer_messages_out_total")
        for n, client in enumerate(clients):
            await client.send_ops([stroke(1, f"s{n}")])
        for client in clients:
            assert await client.expect_acked(1) == [(1, 1)]
        # Everything published after those commits, one tick and the Redis round trip later.
        heard = await layer_messages(layer_, other, 0.6)
        ticks = [m for m in heard if m.get("boards")]
        # Every board's tick reached the other process...
        assert {b for m in ticks for b in m["boards"]} == ids
        # ...in one or two messages (one per tick), not twenty (one per board per tick); and
        # 20 boards' ops took one or two transactions, not twenty.
        assert len(ticks) <= 2, [sorted(m["boards"]) for m in ticks]
        assert sample("inkroom_batch_size_count") - commits <= 2
        assert 1 <= sample("inkroom_layer_messages_out_total") - messages <= 3
        for client in clients:
            await client.close()
    finally:
        await layer_.group_discard(PODS_GROUP, other)
