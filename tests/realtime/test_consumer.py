"""
The board consumer and hub end to end through the real ASGI stack (middleware included), on the
in-memory and the real Redis channel layer, against the real database.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from board.models import Op
from realtime import protocol

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


def stroke(i: int, el_id: str, x: int = 10) -> dict:
    return {
        "i": i,
        "k": "add",
        "el": {
            "id": el_id,
            "type": "stroke",
            "x": x,
            "y": 20,
            "style": {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None},
            "p": [0, 0, 3, 1],
        },
    }


def append(i: int, el_id: str) -> dict:
    return {"i": i, "k": "app", "id": el_id, "p": [1, 1, 2, 2]}


async def test_hello_describes_board_role_and_limits(layer, connect, board, user):
    client = await connect(board, user, client_id="alice-tab-1")
    hello = client.hello
    assert hello.v == protocol.PROTOCOL_VERSION
    assert hello.client_id == "alice-tab-1"
    assert hello.role == "owner"
    assert hello.user == {"id": user.pk, "name": "alice"}
    assert hello.board == {"id": board.id, "title": board.title, "link_access": "none"}
    assert hello.head_seq == 0
    assert hello.limits["max_ops_per_frame"] == 256
    assert [p["client_id"] for p in hello.presence] == ["alice-tab-1"]
    frames, synced = await client.sync()
    assert synced.seq == 0
    assert [type(f) for f in frames] == [protocol.Snap]
    await client.close()


async def test_two_clients_receive_identical_ops_frames_and_author_gets_ack_after_commit(
    layer, connect, board, user
):
    alice = await connect(board, user, client_id="alice-tab-1")
    bob = await connect(board, user, client_id="bob-tab-1")
    await alice.sync()
    await bob.sync()
    await alice.send_ops([stroke(1, "s1"), append(2, "s1")])
    got = await _binaries(alice, {"ops", "ack"})
    assert protocol.decode_server_binary(got["ack"]).a == [(1, 1), (2, 2)]
    rows = await sync_to_async(list)(
        Op.objects.filter(board=board).order_by("seq").values_list("seq", "client_op_id")
    )
    assert rows == [(1, 1), (2, 2)]  # durable by the time the ack arrived
    raw_a = got["ops"]
    raw_b = (await _binaries(bob, {"ops"}))["ops"]
    assert raw_a == raw_b
    frame = protocol.decode_server_binary(raw_b)
    assert [e["s"] for e in frame.ops] == [1, 2]
    assert frame.ops[0]["c"] == "alice-tab-1" and frame.ops[0]["u"] == user.pk
    await alice.close()
    await bob.close()


async def _binaries(client, kinds: set[str]) -> dict[str, bytes]:
    """
    Read frames until one binary frame of each kind arrived; return their raw bytes.
    """
    got: dict[str, bytes] = {}
    while set(got) != kinds:
        message = await client.recv_raw()
        data = message.get("bytes")
        if data is not None:
            got.setdefault(protocol.decode_server_binary(data).to_wire()["t"], data)
    return got
