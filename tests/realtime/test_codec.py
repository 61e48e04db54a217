"""
One codec per connection (realtime.wire.codec): what each socket's codec remembers, and that a
room encodes a delivery once per codec kind however many sockets it reaches. Pure: no hub, no
database.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from realtime.engine.delivery import Delivery
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room, new_codec
from realtime.wire.frames import ops_frame_from_entries
from realtime.wire.handles import HandleTable
from realtime.wire.protocol import ClientAppend, ClientOps, ErrorCode, ProtocolError
from tests.support import refclient
from tests.support.ops import append, stroke

SMOOTH = [4, 1, 4, 2, 5, 2, 5, 3]


def _ops(*ops: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb({"t": "ops", "ops": list(ops)}))


def test_each_v2_connection_keeps_its_own_stroke_and_op_count() -> None:
    table = HandleTable()
    alice, bob = new_codec(2, table), new_codec(2, table)
    assert isinstance(alice.decode(_ops(stroke(5, "s1"))), ClientOps)
    assert isinstance(bob.decode(_ops(stroke(9, "s2"), append(10, "s2"))), ClientOps)
    assert alice.decode(refclient.encode_up_next(SMOOTH)) == ClientAppend(6, "s1", SMOOTH)
    assert bob.decode(refclient.encode_up_next(SMOOTH)) == ClientAppend(11, "s2", SMOOTH)
    assert alice.decode(refclient.encode_up_app(20, SMOOTH, [1, 2, 3, 4])) == ClientAppend(
        20, "s1", SMOOTH, [1, 2, 3, 4]
    )
    assert alice.decode(refclient.encode_up_next(SMOOTH)).i == 21


def test_a_frame_refused_whole_leaves_no_last_op_id() -> None:
    codec = new_codec(2, HandleTable())
    codec.decode(_ops(stroke(1, "s1")))
    with pytest.raises(ProtocolError) as refused:
        codec.decode(bytes([0xC1]))  # not msgpack
    assert refused.value.code == ErrorCode.BAD_FRAME
    with pytest.raises(ProtocolError) as after:
        codec.decode(refclient.encode_up_next(SMOOTH))
    assert (after.value.code, after.value.ids) == (ErrorCode.BAD_MESSAGE, None)


def test_a_v1_connection_refuses_compact_frames_naming_their_op() -> None:
    codec = new_codec(1, HandleTable())
    codec.decode(_ops(stroke(1, "s1")))
    with pytest.raises(ProtocolError) as refused:
        codec.decode(refclient.encode_up_app(2, SMOOTH))
    assert (refused.value.code, refused.value.ids) == (ErrorCode.BAD_FRAME, [2])


class Sink:
    """
    A socket's send queue that keeps what is pushed.
    """

    def __init__(self) -> None:
        self.frames: list[Any] = []

    def push(self, frame: Any) -> bool:
        self.frames.append(frame)
        return True


def _live_peer(room: Room, version: int) -> tuple[Peer, Sink]:
    sink = Sink()
    queue: Any = sink
    limiter = RateLimiter.create(ops_per_sec=1, ops_burst=1, bytes_per_sec=1, bytes_burst=1)
    peer = Peer(room.board_id, f"peer-{version}-{len(room.peers)}", None, "p", "editor", None,
                queue, limiter, codec=new_codec(version, room.handles))  # fmt: skip
    peer.catching_up = False
    room.peers[peer.id] = peer
    return peer, sink


def test_a_delivery_is_encoded_once_for_all_v2_sockets_and_not_for_v1() -> None:
    room = Room("b")
    sinks = {name: _live_peer(room, version)[1] for name, version in
             (("carol", 1), ("alice", 2), ("bob", 2))}  # fmt: skip
    entries = [
        bytes(msgpack.packb({"s": 1, "c": "writer-01", "u": 7, **stroke(1, "s1")})),
        bytes(msgpack.packb({"s": 2, "c": "writer-01", "u": 7, **append(2, "s1")})),
    ]
    delivery = Delivery(1, 2, ops_frame_from_entries(entries), entries)
    for peer in room.peers.values():
        peer.send_live(delivery)
    (carol,), (alice,), (bob,) = (sinks[n].frames for n in ("carol", "alice", "bob"))
    assert carol is delivery.frame
    assert alice is bob is delivery.encoded[2]
    decoded = refclient.RefSession().decode(alice)
    assert decoded is not None
    assert [e["k"] for e in decoded if isinstance(e, dict)] == ["add", "app"]
