"""
Text frames spend the socket's budget, and presence is coalesced per board (issue 15, finding 2).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from realtime.cluster.pods import PRESENCE_MIN_SECS
from realtime.wire import protocol
from realtime.wire.protocol import CloseCode

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


async def _frames_within(client: Any, quiet: float) -> list[Any]:
    """
    Every frame received until none came for `quiet` seconds.
    """
    out = []
    while not await client.comm.receive_nothing(timeout=quiet, interval=0.01):
        out.append(await client.recv())
    return out


async def test_a_presence_flood_reaches_others_coalesced(memory_layer, connect, board, user):
    sender = await connect(board, user)
    await sender.sync()
    watcher = await connect(board, user)
    await watcher.sync()
    await asyncio.sleep(PRESENCE_MIN_SECS * 2)  # the joins' presence frames are out
    await _frames_within(watcher, 0.1)
    changes, spell = 50, 1.0
    for k in range(changes):
        await sender.send_text(protocol.ClientPresence(name=f"n{k}", color="#000000"))
        await asyncio.sleep(spell / changes)
    frames = await _frames_within(watcher, PRESENCE_MIN_SECS * 3)
    seen = [msg for msg in frames if isinstance(msg, protocol.Presence)]
    # About one frame per PRESENCE_MIN_SECS, not one per change; the last name is not lost.
    assert 2 <= len(seen) <= spell / PRESENCE_MIN_SECS + 3, len(seen)
    assert f"n{changes - 1}" in {c["name"] for c in seen[-1].clients}
    await sender.close()
    await watcher.close()


async def test_a_ping_flood_is_refused_then_closed_4029(
    memory_layer, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 1.0, "OPS_BURST": 50.0}
    client = await connect(board, user)
    await client.sync()
    ping = json.dumps({"type": "ping", "t": 1})
    for _ in range(200):
        await client.comm.send_to(text_data=ping)
    codes: set[str] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        message = await client.recv_raw(max(0.01, deadline - loop.time()))
        if message["type"] == "websocket.close":
            assert message["code"] == CloseCode.RATE_LIMITED
            break
        if message.get("text") and '"error"' in message["text"]:
            codes.add(json.loads(message["text"])["code"])
    assert codes == {"rate_limited"}


async def test_resyncs_cost_more_than_pings(memory_layer, connect, board, user, settings):
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 10.0, "OPS_BURST": 200.0}
    client = await connect(board, user)
    await client.sync()
    for _ in range(6):
        await client.send_text(protocol.ClientResync(from_seq=0))
    frames = await _frames_within(client, 0.3)
    errors = [f.code for f in frames if isinstance(f, protocol.Error)]
    # 200 tokens pay for four resyncs of 50; each new one supersedes a catch-up still running.
    assert errors == ["rate_limited", "rate_limited"]
    assert any(isinstance(f, protocol.Synced) for f in frames)
    await client.send_text(protocol.ClientPing(t=7))
    assert (await client.expect(protocol.Pong)).t == 7
    await client.close()


async def test_sockets_that_ask_for_deltas_get_the_change_not_the_list(
    memory_layer, connect, board, user
):
    whole = await connect(board, user)
    await whole.sync()
    delta = await connect(board, user, query="presence=delta")
    await delta.sync()
    sender = await connect(board, user)
    await sender.sync()
    assert sender.hello is not None
    await asyncio.sleep(PRESENCE_MIN_SECS * 2)
    await _frames_within(whole, 0.1)
    await _frames_within(delta, 0.1)
    await sender.send_text(protocol.ClientPresence(name="Zed", color="#123456"))
    frames = await _frames_within(delta, PRESENCE_MIN_SECS * 2)
    changes = [f for f in frames if isinstance(f, protocol.PresenceDelta)]
    assert not any(isinstance(f, protocol.Presence) for f in frames)
    assert [(c.gone, [e["name"] for e in c.set]) for c in changes] == [([], ["Zed"])]
    lists = [f for f in await _frames_within(whole, 0.1) if isinstance(f, protocol.Presence)]
    assert lists and len(lists[-1].clients) == 3  # the whole list, as before
    await sender.close()
    frames = await _frames_within(delta, PRESENCE_MIN_SECS * 2)
    gone = [f.gone for f in frames if isinstance(f, protocol.PresenceDelta)]
    assert gone == [[sender.hello.client_id]]
    await whole.close()
    await delta.close()
