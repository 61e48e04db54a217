"""
One live socket per client id on a board (protocol §1, "One socket per client id"): op identity is
(client_id, i), so a second socket with the same id takes the board over from the first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async

from board.models import Membership, Op, Role
from realtime.engine.hub import Hub, get_hub
from realtime.wire.protocol import CloseCode
from tests.support.ops import stroke

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


async def test_a_second_socket_with_the_same_client_id_closes_the_first_with_4010(
    memory_layer, connect, board, user
):
    old = await connect(board, user, client_id="tab-aaaa-1")
    await old.sync()
    new = await connect(board, user, client_id="tab-aaaa-1")
    await new.sync()
    assert await old.expect_close() == CloseCode.CLIENT_REPLACED
    # The newer socket writes under the id; its op is its own, not a "resend" of another's.
    await new.send_ops([stroke(1, "mine", x=77)])
    assert await new.expect_acked(1) == [(1, 1)]
    stored = await sync_to_async(list)(Op.objects.filter(board=board).values_list("client_op_id"))
    assert stored == [(1,)]
    await new.close()


async def test_an_op_acknowledged_to_the_newer_socket_is_the_op_it_sent(
    memory_layer, connect, board, user
):
    # Two writers under one id, each numbering from 1: without the takeover the server stored the
    # first one's op 1 and acknowledged the second's op 1 as its resend, so that ink was lost.
    first = await connect(board, user, client_id="tab-bbbb-1")
    await first.sync()
    second = await connect(board, user, client_id="tab-bbbb-1")
    await second.sync()
    await first.send_ops([stroke(1, "from-first", x=1)])
    await second.send_ops([stroke(1, "from-second", x=2)])
    assert await second.expect_acked(1) == [(1, 1)]
    payloads = await sync_to_async(list)(Op.objects.filter(board=board).values_list("payload"))
    elements = [msgpack.unpackb(bytes(data))["el"]["id"] for (data,) in payloads]
    assert elements == ["from-second"]
    await second.close()


async def test_another_users_socket_cannot_take_an_id_in_use(
    memory_layer, connect, board, user, make_user
):
    # Client ids are shown to the whole room in presence: taking one over would let any member
    # cut another's socket off, so the newcomer is the one refused.
    other = await sync_to_async(make_user)("mallory")
    await sync_to_async(Membership.objects.create)(board=board, user=other, role=Role.EDITOR)
    owner = await connect(board, user, client_id="tab-cccc-1")
    await owner.sync()
    intruder = await connect(board, other, client_id="tab-cccc-1", expect_hello=False)
    assert await intruder.expect_close() == CloseCode.CLIENT_REPLACED
    await owner.send_ops([stroke(1, "still-mine")])
    assert await owner.expect_acked(1) == [(1, 1)]
    await owner.close()


def _claims(board_id: str, *rows: list[object]) -> dict[str, object]:
    return {
        "type": "board.batch",
        "origin": "ffffffffffff",
        "boards": {},
        "claims": {board_id: list(rows)},
    }


async def test_a_newer_socket_of_the_same_user_on_another_process_takes_over(
    memory_layer, fake_clock, connect, board, user
):
    client = await connect(board, user, client_id="tab-dddd-1")
    await client.sync()
    fake_clock.advance(30)  # our socket is 30 s old; the other process's joined just now
    get_hub().pods.handle(_claims(board.id, ["tab-dddd-1", f"user:{user.pk}", 0.0, False]))
    assert await client.expect_close() == CloseCode.CLIENT_REPLACED


async def test_an_older_socket_holds_its_id_against_another_users_on_another_process(
    memory_layer, fake_clock, connect, board, user
):
    client = await connect(board, user, client_id="tab-eeee-1")
    await client.sync()
    fake_clock.advance(30)
    hub = get_hub()
    hub.pods.handle(_claims(board.id, ["tab-eeee-1", "user:999999", 0.0, False]))
    # Kept, and the other process is told to refuse its newcomer.
    answer = hub.pods.claims[board.id]
    assert [(c.client_id, c.held) for c, _joined in answer] == [("tab-eeee-1", True)]
    await client.send_ops([stroke(1, "kept")])
    assert await client.expect_acked(1) == [(1, 1)]
    # The answer, seen from the newcomer's process: its own socket is the newer one and goes.
    hub.pods.handle(_claims(board.id, ["tab-eeee-1", "user:999999", 300.0, True]))
    assert await client.expect_close() == CloseCode.CLIENT_REPLACED


async def _join_second_hub(board: Any, user: Any, client_id: str) -> tuple[Hub, asyncio.Queue]:
    """
    A socket with `client_id` on a second hub (another process's worth of rooms, in this loop).
    """
    hub = Hub()
    frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    info = {
        "board": {"id": board.id, "title": board.title, "link_access": "none"},
        "client_id": client_id,
        "user_id": user.pk,
        "user_name": user.username,
        "role": "owner",
        "share": None,
    }
    await hub.join(info, frames.put, 0)
    return hub, frames


async def test_a_reconnect_landing_on_another_process_closes_the_old_socket(
    layer, fake_clock, connect, board, user
):
    old = await connect(board, user, client_id="tab-ffff-1")
    await old.sync()
    fake_clock.advance(30)  # the old socket is 30 s old when its client comes back elsewhere
    hub2, _frames = await _join_second_hub(board, user, "tab-ffff-1")
    try:
        assert await old.expect_close() == CloseCode.CLIENT_REPLACED
    finally:
        await hub2.close()
