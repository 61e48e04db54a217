"""
Nobody's ink is lost: failures stay with the board or socket they concern, and a process never
refuses a valid op because its state lacks ops the log has (issue "No one's ink is ever lost").
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async

from board.document import BoardState, apply_in_place
from board.models import Op
from realtime.engine import roster, store
from realtime.engine.delivery import Delivery
from realtime.engine.hub import get_hub
from realtime.engine.room import Room
from realtime.wire import protocol
from realtime.wire.frames import ops_frame_from_entries
from realtime.wire.protocol import CloseCode
from tests.support.ops import append, stroke
from tests.support.store import board_rows, store_ops

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

LONE_SURROGATE_PRESENCE = '{"type":"presence","name":"\\ud800","color":"#000000"}'


async def _draw(client: Any, n: int, el_id: str) -> None:
    """
    A stroke of n ops, one frame a tick apart, as a person draws.
    """
    await client.send_ops([stroke(1, el_id)])
    for i in range(2, n + 1):
        await asyncio.sleep(0.005)
        await client.send_ops([append(i, el_id)])


async def test_a_lone_surrogate_presence_loses_no_one_elses_ops(
    memory_layer, connect, make_board, user, make_user
):
    other = await sync_to_async(make_user)("bob")
    board_a = await sync_to_async(make_board)(user, "A")
    board_b = await sync_to_async(make_board)(other, "B")
    mallory = await connect(board_a, user)
    await mallory.sync()
    victim = await connect(board_b, other)
    await victim.sync()
    await mallory.comm.send_to(text_data=LONE_SURROGATE_PRESENCE)
    await _draw(victim, 40, "v1")
    assert len(await victim.expect_acked(40)) == 40
    assert [r[2] for r in await board_rows(board_b)] == list(range(1, 41))
    # The sender is answered, not dropped, and the board it named still admits newcomers.
    await mallory.send_text(protocol.ClientPing(t=1))
    assert isinstance(await mallory.expect(protocol.Pong), protocol.Pong)
    newcomer = await connect(board_a, user)
    await newcomer.sync()
    for client in (mallory, victim, newcomer):
        await client.close()


async def test_a_server_bug_on_one_board_closes_its_sockets_only_and_loses_no_op(
    memory_layer, connect, make_board, user, monkeypatch
):
    board_a = await sync_to_async(make_board)(user, "A")
    board_b = await sync_to_async(make_board)(user, "B")
    on_a = await connect(board_a, user)
    await on_a.sync()
    on_b = await connect(board_b, user)
    await on_b.sync()
    real = roster.presence_frame

    def broken(room: Room, merged: Any = None) -> str:
        if room.board_id == board_a.id:
            raise RuntimeError("a bug that concerns board A only")
        return real(room, merged)

    monkeypatch.setattr(roster, "presence_frame", broken)
    await on_a.send_text(protocol.ClientPresence(name="Ann", color="#112233"))
    await on_a.send_ops([stroke(1, "a1")])
    await on_b.send_ops([stroke(1, "b1"), append(2, "b1")])
    assert await on_a.expect_close() == CloseCode.INTERNAL_ERROR
    assert await on_b.expect_acked(2) == [(1, 1), (2, 2)]
    # Whether A's op was read before the room failed is a race (a tick may run between the two
    # frames); either way it is not lost: stored although its socket went, or, never
    # acknowledged, resent by its client on reconnect, and then in the log exactly once.
    monkeypatch.setattr(roster, "presence_frame", real)
    again = await connect(board_a, user, client_id=on_a.hello.client_id)
    await again.sync()
    await again.send_ops([stroke(1, "a1")])
    assert await again.expect_acked(1) == [(1, 1)]
    assert [r[2] for r in await board_rows(board_a)] == [1]
    for client in (again, on_b):
        await client.close()


async def test_an_op_on_an_element_this_process_has_not_seen_yet_is_not_refused(
    memory_layer, connect, board, user
):
    client = await connect(board, user)
    await client.sync()
    # Another process stores the stroke; this one has not heard of it yet (its batch is late).
    await sync_to_async(store_ops)(board, 1)
    await client.send_ops([append(1, "e1")])
    error = await client.expect(protocol.Error)
    assert (error.code, error.ids) == ("unavailable", [1])
    await asyncio.sleep(0.1)  # the client resends after a moment, as after any `unavailable`
    await client.send_ops([append(1, "e1")])
    acked = await client.expect_acked(1)
    assert acked == [(1, 2)]
    await client.close()


def _entry(seq: int, op: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb({**op, "s": seq, "c": "other-tab-1", "u": None}))


async def test_a_reload_keeps_what_is_delivered_while_it_reads(memory_layer, board, hub_cleanup):
    hub = get_hub()
    room = hub.rooms[board.id] = Room(board.id)
    room.load(BoardState(), 0, 0.0)
    room.exact = False  # what makes housekeeping reload it
    released = asyncio.Event()

    async def read(fn: Any, *args: Any) -> Any:
        assert fn is store.load_state
        state = BoardState()  # the log as the read saw it: nothing yet
        await released.wait()
        return state, 0

    hub.read = read  # type: ignore[method-assign]
    reload = asyncio.create_task(hub.repair._refresh(room))
    await asyncio.sleep(0)
    # Meanwhile another process's batch arrives with the stroke (seq 1).
    entry = _entry(1, stroke(7, "late"))
    batch = {board.id: [1, 1, ops_frame_from_entries([entry])]}
    hub.pods.handle({"type": "board.batch", "origin": "other-pod", "boards": batch})
    released.set()
    await reload
    assert room.state is not None and "late" in room.state.elements
    assert (room.applied_seq, room.delivered_seq, room.exact) == (1, 1, True)


@pytest.mark.multiprocess
def test_a_lone_surrogate_sent_to_a_real_server_loses_nothing(
    start_inkroom: Any, make_board: Any, user: Any, make_user: Any
) -> None:
    """
    Through Hypercorn, where a text frame is encoded to UTF-8 as it is written: a lone surrogate
    in a presence name or a ping once raised inside the tick that serves every board.
    """
    from rest_framework.authtoken.models import Token

    from tests.support.wsclient import BoardClient, token_header

    other = make_user("bob")
    board_a, board_b = make_board(user, "A"), make_board(other, "B")
    headers = [token_header(Token.objects.create(user=u).key) for u in (user, other)]
    server = start_inkroom()
    mallory = BoardClient(server.ws_url(f"/ws/boards/{board_a.id}/"), headers=headers[0])
    victim = BoardClient(server.ws_url(f"/ws/boards/{board_b.id}/"), headers=headers[1])
    newcomer = BoardClient(server.ws_url(f"/ws/boards/{board_a.id}/"), headers=headers[0])

    async def scenario() -> None:
        await mallory.connect()
        await victim.connect()
        assert mallory._ws is not None
        await mallory._ws.send(LONE_SURROGATE_PRESENCE)
        await mallory._ws.send('{"type":"ping","t":"\\udfff"}')
        for k in range(10):
            await victim.draw_stroke(points=12, chunk=3, x=10 * k)
        await victim.wait_acked()
        await newcomer.connect()
        await asyncio.sleep(0.3)
        assert mallory.connected and newcomer.connected, (mallory.close_codes, newcomer.close_codes)
        for client in (mallory, victim, newcomer):
            await client.close()

    asyncio.run(scenario())
    assert len(victim.acked) == 50 and not victim.outbox and not victim.rejected, victim.errors
    ops = Op.objects.filter(board_id=board_b.id).order_by("seq")
    stored = list(ops.values_list("client_op_id", flat=True))
    assert stored == sorted(victim.acked)
    assert CloseCode.INTERNAL_ERROR not in mallory.close_codes + newcomer.close_codes


def test_ops_of_another_process_sequenced_before_ours_are_still_applied_once_they_arrive():
    room = Room("b")
    room.load(BoardState(), 0, 0.0)
    assert room.state is not None
    ours = [stroke(1, "mine"), append(2, "mine")]
    for op in ours:  # what the tick applies before the commit
        apply_in_place(room.state, op)
    room.spec_ops, room.spec_base = 2, 0
    points = list(room.state.elements["mine"]["p"])
    # Another process's op got seq 1; ours got 2..3, and its batch has not arrived yet.
    room.committed(2, 3, clean=True)
    theirs = _entry(1, stroke(5, "theirs"))
    entries = [theirs] + [_entry(2 + k, op) for k, op in enumerate(ours)]
    room.offer(Delivery(1, 3, ops_frame_from_entries(entries), entries))
    assert "theirs" in room.state.elements
    assert room.state.elements["mine"]["p"] == points  # not appended twice
    assert (room.applied_seq, room.own_ranges) == (3, [])
