"""
Text frames spend the socket's budget, and presence is coalesced per board (issue 15, finding 2).

The hub runs on a fake clock (the `fake_clock` fixture): budgets refill and the presence throttle
expires only when a test advances it, so every count below is exact however slowly the machine
runs the test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime.cluster.pods import PRESENCE_MIN_SECS
from realtime.engine.hub import get_hub
from realtime.engine.ratelimit import STRIKES_TO_CLOSE
from realtime.wire import protocol
from realtime.wire.protocol import CloseCode
from tests.support.clock import FakeClock
from tests.support.sockets import Client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

#: How long a client listens to be sure that nothing more is coming (seconds of real time). With
#: the hub's clock standing still nothing can come, however long it listens.
QUIET_SECS = 0.1


async def _frames_until_quiet(client: Client) -> list[Any]:
    """
    Every frame received until none came for QUIET_SECS.
    """
    out = []
    while not await client.comm.receive_nothing(timeout=QUIET_SECS, interval=0.01):
        out.append(await client.recv())
    return out


async def _presence_due(clock: FakeClock, secs: float = PRESENCE_MIN_SECS) -> None:
    """
    Move the hub's clock on by `secs` and make it tick now rather than at its next wake.
    """
    clock.advance(secs)
    get_hub().work.set()


async def _changes_seen_by_one_tick(sender: Client, names: list[str]) -> None:
    """
    Send presence changes that the hub reads before its next tick: it holds the tick lock
    until the sender's pong shows every change was read.
    """
    hub = get_hub()
    async with hub.tick_lock:
        for name in names:
            await sender.send_text(protocol.ClientPresence(name=name, color="#000000"))
        await sender.send_text(protocol.ClientPing(t=len(names)))
        assert (await sender.expect(protocol.Pong)).t == len(names)


def _lists(frames: list[Any]) -> list[list[str]]:
    return [
        sorted(c["name"] for c in f.clients) for f in frames if isinstance(f, protocol.Presence)
    ]


async def test_a_presence_flood_reaches_others_as_one_frame_per_interval(
    memory_layer, fake_clock, connect, board, user
):
    sender = await connect(board, user)
    await sender.sync()
    watcher = await connect(board, user)
    await watcher.sync()
    await _presence_due(fake_clock)  # the second join's list was owed
    await _frames_until_quiet(watcher)

    # Fifty changes within one interval: one frame, with the last name.
    await _presence_due(fake_clock)
    await _changes_seen_by_one_tick(sender, [f"n{k}" for k in range(50)])
    assert _lists(await _frames_until_quiet(watcher)) == [["alice", "n49"]]

    # A change right after it waits for the interval to end, however long the wait in real time.
    await _changes_seen_by_one_tick(sender, ["late"])
    assert _lists(await _frames_until_quiet(watcher)) == []
    await _presence_due(fake_clock, PRESENCE_MIN_SECS / 2)
    assert _lists(await _frames_until_quiet(watcher)) == []
    await _presence_due(fake_clock, PRESENCE_MIN_SECS / 2)
    assert _lists([await watcher.expect(protocol.Presence)]) == [["alice", "late"]]
    await sender.close()
    await watcher.close()


async def test_a_ping_flood_is_refused_then_closed_4029(
    memory_layer, fake_clock, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 1.0, "OPS_BURST": 50.0}
    client = await connect(board, user)
    await client.sync()
    ping = json.dumps({"type": "ping", "t": 1})
    for _ in range(200):
        await client.comm.send_to(text_data=ping)
    pongs, codes = 0, []
    while True:
        message = await client.recv_raw()
        if message["type"] == "websocket.close":
            assert message["code"] == CloseCode.RATE_LIMITED
            break
        text = json.loads(message.get("text") or "{}")
        if text.get("type") == "pong":
            pongs += 1
        elif text.get("type") == "error":
            codes.append(text["code"])
    # The burst, then refusals until the one that closes the socket (it gets no error frame).
    assert pongs == 50
    assert codes == ["rate_limited"] * (STRIKES_TO_CLOSE - 1)


@pytest.mark.parametrize("junk", [b"\xff\x00junk", b"\x05"], ids=["undecodable", "bad_frame"])
async def test_a_flood_of_refused_binary_frames_is_throttled_then_closed_4029(
    memory_layer, fake_clock, connect, board, user, settings, junk
):
    # Each refused frame was read and is answered, so it spends the budget as a ping does.
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 1.0, "OPS_BURST": 50.0}
    client = await connect(board, user, query="v=2")
    await client.sync()
    for _ in range(200):
        await client.comm.send_to(bytes_data=junk)
    codes = []
    while True:
        message = await client.recv_raw()
        if message["type"] == "websocket.close":
            assert message["code"] == CloseCode.RATE_LIMITED
            break
        if message.get("text"):
            codes.append(json.loads(message["text"]).get("code"))
    assert len(codes) == 50 + STRIKES_TO_CLOSE - 1
    assert codes[50:] == ["rate_limited"] * (STRIKES_TO_CLOSE - 1)


async def test_resyncs_cost_more_than_pings(
    memory_layer, fake_clock, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 10.0, "OPS_BURST": 200.0}
    client = await connect(board, user)
    await client.sync()
    for _ in range(6):
        await client.send_text(protocol.ClientResync(from_seq=0))
    frames = await _frames_until_quiet(client)
    errors = [f.code for f in frames if isinstance(f, protocol.Error)]
    # 200 tokens pay for four resyncs of 50; each new one supersedes a catch-up still running.
    assert errors == ["rate_limited", "rate_limited"]
    assert any(isinstance(f, protocol.Synced) for f in frames)
    await client.send_text(protocol.ClientPing(t=7))
    assert (await client.expect(protocol.Error)).code == "rate_limited"  # nothing refilled
    fake_clock.advance(0.125)  # 1.25 tokens at 10 a second: a ping, not a resync
    await client.send_text(protocol.ClientPing(t=8))
    assert (await client.expect(protocol.Pong)).t == 8
    await client.send_text(protocol.ClientResync(from_seq=0))
    assert (await client.expect(protocol.Error)).code == "rate_limited"
    fake_clock.advance(5.0)
    await client.send_text(protocol.ClientResync(from_seq=0))
    await client.sync()
    await client.close()


async def test_sockets_that_ask_for_deltas_get_the_change_not_the_list(
    memory_layer, fake_clock, connect, board, user
):
    whole = await connect(board, user)
    await whole.sync()
    delta = await connect(board, user, query="presence=delta")
    await delta.sync()
    sender = await connect(board, user)
    await sender.sync()
    assert sender.hello is not None
    await _presence_due(fake_clock)
    await _frames_until_quiet(whole)
    await _frames_until_quiet(delta)

    await _presence_due(fake_clock)
    await _changes_seen_by_one_tick(sender, ["Zed"])
    frames = await _frames_until_quiet(delta)
    changes = [f for f in frames if isinstance(f, protocol.PresenceDelta)]
    assert not any(isinstance(f, protocol.Presence) for f in frames)
    assert [(c.gone, [e["name"] for e in c.set]) for c in changes] == [([], ["Zed"])]
    lists = _lists(await _frames_until_quiet(whole))
    assert lists == [["Zed", "alice", "alice"]]  # the whole list, as before

    await sender.close()
    await _presence_due(fake_clock)
    frames = await _frames_until_quiet(delta)
    gone = [f.gone for f in frames if isinstance(f, protocol.PresenceDelta)]
    assert gone == [[sender.hello.client_id]]
    await whole.close()
    await delta.close()
