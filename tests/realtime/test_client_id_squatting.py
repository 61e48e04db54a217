"""
A client id is public (entries carry `c`, presence shows it), so anyone on a board can store ops
under an absent writer's id, with the `i`s it will use next. Those must never make the writer's
own ops count as resends (protocol §1, "One socket per client id"; §4): the writer is told
`client_id_taken`, never acknowledged, and its ops reach the log under a fresh id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async

from board.models import Membership, Op, Role, ShareLink
from realtime.engine import inbound
from realtime.engine.hub import Hub
from realtime.wire import protocol
from tests.support.ops import stroke
from tests.support.sockets import Client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

VICTIM_ID = "victim-tab-1"


async def _answer(client: Client) -> tuple[protocol.Error, dict[int, int], list[dict[str, Any]]]:
    """
    Read until an `error` frame: return it, the `ack` pairs and the own-id entries seen before.
    """
    acks: dict[int, int] = {}
    own: list[dict[str, Any]] = []
    while True:
        msg = await client.recv()
        if isinstance(msg, protocol.Error):
            return msg, acks, own
        if isinstance(msg, protocol.Ack):
            acks.update(msg.a)
        elif isinstance(msg, protocol.OpsFrame):
            own += [e for e in msg.ops if e["c"] == VICTIM_ID]


async def _log(board: Any) -> list[tuple[str, str, int | None]]:
    """
    The board's log as (element id, client id, author) in seq order.
    """
    rows = await sync_to_async(list)(
        Op.objects.filter(board=board)
        .order_by("seq")
        .values_list("payload", "client_id", "author_id")
    )
    return [(msgpack.unpackb(bytes(p))["el"]["id"], c, a) for p, c, a in rows]


async def _elements_seen(client: Client, upto: int) -> dict[str, Any]:
    """
    Read `ops` frames until seq `upto`; return {element id: author} of the `add`s seen.
    """
    seen: dict[str, Any] = {}
    last = 0
    while last < upto:
        msg = await client.recv()
        if isinstance(msg, protocol.OpsFrame):
            seen.update((e["el"]["id"], e["u"]) for e in msg.ops if e["k"] == "add")
            last = msg.ops[-1]["s"]
    return seen


async def _reconnect_and_resend(connect, board, who, outbox, *, since, query="") -> Client:
    """
    The victim comes back under its old id and resends its outbox: refused, never acknowledged.
    """
    back = await connect(board, who, since=since, client_id=VICTIM_ID, query=query)
    await back.sync()
    await back.send_ops(outbox)
    error, acks, own = await _answer(back)
    assert error.code == "client_id_taken"
    assert sorted(error.ids or []) == [op["i"] for op in outbox]
    assert acks == {}
    # The squatter's entries under our id are not our ops: a client must not count them as acks
    # (protocol §2.2) — they differ from the outbox's ops.
    assert all(e["el"]["id"] not in {op["el"]["id"] for op in outbox} for e in own)
    await back.close()
    return back


async def test_a_member_storing_under_an_absent_users_id_cannot_lose_that_users_ink(
    memory_layer, connect, board, user, make_user
):
    mallory = await sync_to_async(make_user)("mallory")
    await sync_to_async(Membership.objects.create)(board=board, user=mallory, role=Role.EDITOR)
    victim = await connect(board, user, client_id=VICTIM_ID)
    await victim.sync()
    await victim.send_ops([stroke(1, "v1")])
    assert await victim.expect_acked(1) == [(1, 1)]
    await victim.close()
    # The victim draws offline (ops 2 and 3 wait in its outbox). Mallory saw its id and counter
    # in its entry and stores under them first.
    attacker = await connect(board, mallory, client_id=VICTIM_ID)
    await attacker.sync()
    await attacker.send_ops([stroke(2, "m2", x=50), stroke(3, "m3", x=60)])
    assert await attacker.expect_acked(2) == [(2, 2), (3, 3)]
    await attacker.close()

    outbox = [stroke(2, "v2", x=5), stroke(3, "v3", x=6)]
    await _reconnect_and_resend(connect, board, user, outbox, since=1)

    # What the protocol asks next: a fresh client id, the outbox resent under it.
    observer = await connect(board, mallory, since=3, client_id="observer-01")
    await observer.sync()
    fresh = await connect(board, user, since=3, client_id="victim-tab-2")
    await fresh.sync()
    await fresh.send_ops(outbox)
    assert await fresh.expect_acked(2) == [(2, 4), (3, 5)]
    assert await _elements_seen(observer, 5) == {"v2": user.pk, "v3": user.pk}
    assert await _log(board) == [
        ("v1", VICTIM_ID, user.pk),
        ("m2", VICTIM_ID, mallory.pk),
        ("m3", VICTIM_ID, mallory.pk),
        ("v2", "victim-tab-2", user.pk),
        ("v3", "victim-tab-2", user.pk),
    ]
    await fresh.close()
    await observer.close()


async def test_an_anonymous_link_holder_cannot_lose_another_holders_ink(
    memory_layer, connect, board
):
    # Both hold the same editor link: one principal, no author on their ops. Only the op itself
    # tells the squatter's from the victim's.
    link = await sync_to_async(ShareLink.objects.create)(board=board, role=Role.EDITOR)
    share = f"share={link.token}"
    victim = await connect(board, None, client_id=VICTIM_ID, query=share)
    await victim.sync()
    await victim.send_ops([stroke(1, "v1")])
    assert await victim.expect_acked(1) == [(1, 1)]
    await victim.close()
    attacker = await connect(board, None, client_id=VICTIM_ID, query=share)
    await attacker.sync()
    await attacker.send_ops([stroke(2, "m2", x=50)])
    assert await attacker.expect_acked(1) == [(2, 2)]
    await attacker.close()

    outbox = [stroke(2, "v2", x=5)]
    await _reconnect_and_resend(connect, board, None, outbox, since=1, query=share)
    observer = await connect(board, None, since=2, client_id="observer-01", query=share)
    await observer.sync()
    fresh = await connect(board, None, since=2, client_id="victim-tab-2", query=share)
    await fresh.sync()
    await fresh.send_ops(outbox)
    assert await fresh.expect_acked(1) == [(2, 3)]
    assert await _elements_seen(observer, 3) == {"v2": None}
    assert [row[:2] for row in await _log(board)] == [
        ("v1", VICTIM_ID),
        ("m2", VICTIM_ID),
        ("v2", "victim-tab-2"),
    ]
    await fresh.close()
    await observer.close()


async def test_a_true_resend_is_still_acknowledged_with_its_seq(memory_layer, connect, board, user):
    # The op was committed but its ack lost (the socket died first): the same op by the same
    # author is a resend, acknowledged with its original seq and not stored again.
    first = await connect(board, user, client_id=VICTIM_ID)
    await first.sync()
    await first.send_ops([stroke(1, "v1")])
    assert await first.expect_acked(1) == [(1, 1)]
    await first.close()
    back = await connect(board, user, since=0, client_id=VICTIM_ID)
    await back.sync()
    await back.send_ops([stroke(1, "v1")])
    assert await back.expect(protocol.Ack) == protocol.Ack(a=[(1, 1)])
    assert await _log(board) == [("v1", VICTIM_ID, user.pk)]
    await back.close()


async def test_a_squatter_on_another_process_cannot_lose_the_writers_ink(
    memory_layer, connect, board, user, make_user
):
    # The squatter writes through another process's hub (the id is free there: its owner is
    # away); the owner then resends through this one. The log, not a process, tells them apart.
    mallory = await sync_to_async(make_user)("mallory")
    await sync_to_async(Membership.objects.create)(board=board, user=mallory, role=Role.EDITOR)
    hub = Hub()
    try:
        info = {
            "board": {"id": board.id, "title": board.title, "link_access": "none"},
            "client_id": VICTIM_ID,
            "user_id": mallory.pk,
            "user_name": mallory.username,
            "role": "editor",
            "share": None,
        }
        frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        peer = await hub.join(info, frames.put, 0)
        inbound.on_binary(hub, peer, msgpack.packb({"t": "ops", "ops": [stroke(1, "m1", x=50)]}))
        async with asyncio.timeout(10):
            while not await _log(board):
                await asyncio.sleep(0.02)
    finally:
        await hub.close()
    outbox = [stroke(1, "v1")]
    await _reconnect_and_resend(connect, board, user, outbox, since=0)
    fresh = await connect(board, user, since=1, client_id="victim-tab-2")
    await fresh.sync()
    await fresh.send_ops(outbox)
    assert await fresh.expect_acked(1) == [(1, 2)]
    assert await _log(board) == [("m1", VICTIM_ID, mallory.pk), ("v1", "victim-tab-2", user.pk)]
    await fresh.close()
