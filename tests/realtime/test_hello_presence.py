"""
The presence list of `hello` (Room.hello_presence): the list as last sent to the room plus the
joining socket, encoded once per presence frame rather than once per join.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime.cluster.presence import PresenceEntry
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room
from realtime.wire import protocol


def _entry(client_id: str, name: str = "") -> PresenceEntry:
    return {"client_id": client_id, "user_id": 1, "name": name or client_id, "color": "#1e1e1e",
            "role": "editor"}  # fmt: skip


def _peer(client_id: str) -> Peer:
    limiter = RateLimiter.create(ops_per_sec=1, ops_burst=1, bytes_per_sec=1, bytes_burst=1)
    queue: Any = None
    return Peer("b", client_id, 1, client_id, "editor", None, queue, limiter)


def test_hello_gets_the_list_as_last_sent_plus_the_joining_socket() -> None:
    room = Room("b")
    newcomer = _peer("c-000001")
    assert json.loads(room.hello_presence(newcomer)) == [newcomer.presence()]
    room.presence_last = {"a-000001": _entry("a-000001"), "b-000001": _entry("b-000001", "Bé")}
    got = json.loads(room.hello_presence(newcomer))
    assert got == [_entry("a-000001"), _entry("b-000001", "Bé"), newcomer.presence()]
    # Already in the list (a reconnect before the list moved on): not twice.
    assert json.loads(room.hello_presence(_peer("a-000001"))) == list(room.presence_last.values())


def test_the_list_is_encoded_once_per_presence_frame() -> None:
    room = Room("b")
    room.presence_last = {f"p-{k:06d}": _entry(f"p-{k:06d}") for k in range(2000)}
    room.hello_presence(_peer("x-000001"))
    cached = room.hello_presence_cache
    for k in range(5):
        room.hello_presence(_peer(f"y-{k:06d}"))
    assert room.hello_presence_cache is cached
    room.presence_last = dict(room.presence_last)  # the next frame
    room.hello_presence(_peer("x-000001"))
    assert room.hello_presence_cache is not cached


def test_the_json_is_what_the_codec_writes() -> None:
    room = Room("b")
    them = _entry("a-000001", 'quote " and ünïcode ✏️')
    room.presence_last = {"a-000001": them}
    joining = _peer("c-000001")
    presence = [dict(them), dict(joining.presence())]
    text = str(protocol.encode(protocol.Presence(clients=presence)))
    assert room.hello_presence(joining) == text[text.index("[") : -1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.requires_postgres
async def test_a_socket_joining_after_a_presence_frame_sees_who_was_there(
    memory_layer: Any, connect: Any, board: Any, user: Any
) -> None:
    alice = await connect(board, user, client_id="alice-tab-1")
    await alice.sync()
    while True:  # alice's own presence frame: the room has sent its list
        msg = await alice.recv()
        if isinstance(msg, protocol.Presence):
            break
    bob = await connect(board, user, client_id="bob-tab-1")
    assert [p["client_id"] for p in bob.hello.presence] == ["alice-tab-1", "bob-tab-1"]
    await alice.close()
    await bob.close()
