"""
A board's size budget on the socket (issue 15, finding 6): an op that would take the board past
its stroke points or text characters is refused with `board_full`, is not stored, and leaves the
board and everyone else drawing on it (or on other boards) alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from board.oplog import append_ops
from board.snapshots import create_snapshot
from realtime.wire import protocol
from tests.support.ops import append, stroke
from tests.support.sockets import Client
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


def budgets(settings: Any, **values: int) -> None:
    # Before the first socket: the test loop's hub reads its limits when it is created.
    settings.INKROOM = {**settings.INKROOM, **values}


def rect(i: int, el_id: str) -> dict[str, Any]:
    el = {"id": el_id, "type": "rect", "x": 0, "y": 0, "w": 5, "h": 5, "style": STYLE}
    return {"i": i, "k": "add", "el": el}


def text(i: int, el_id: str, body: str) -> dict[str, Any]:
    el = {"id": el_id, "type": "text", "x": 0, "y": 0, "size": 20, "text": body, "style": STYLE}
    return {"i": i, "k": "add", "el": el}


async def answers(
    client: Client, *, errors: int, acked: int
) -> tuple[list[protocol.Error], dict[int, int]]:
    """
    Read frames until `errors` error frames and `acked` of our ops' entries arrived (in either
    order: a tick's refusals and its commit's entries race).
    """
    assert client.hello is not None
    got: list[protocol.Error] = []
    mine: dict[int, int] = {}
    while len(got) < errors or len(mine) < acked:
        msg = await client.recv()
        if isinstance(msg, protocol.Error):
            got.append(msg)
        elif isinstance(msg, protocol.OpsFrame):
            mine.update((e["i"], e["s"]) for e in msg.ops if e["c"] == client.hello.client_id)
        elif isinstance(msg, protocol.Ack):
            mine.update(msg.a)
    return got, mine


async def test_an_op_past_the_boards_points_budget_is_refused_board_full(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any, make_board: Any
) -> None:
    budgets(settings, MAX_BOARD_POINTS=6)
    other = await sync_to_async(make_board)(user, title="Other")
    alice = await connect(board, user, client_id="alice-tab-1")
    bob = await connect(board, user, client_id="bob-tab-1")
    carol = await connect(other, user, client_id="carol-tab-1")
    for client in (alice, bob, carol):
        await client.sync()

    # 2 + 2 + 2 points: the budget exactly. The next 2 pass it; the rect after them adds none.
    await alice.send_ops([stroke(1, "s1"), append(2, "s1"), append(3, "s1")])
    assert [i for i, _ in await alice.expect_acked(3)] == [1, 2, 3]
    await alice.send_ops([append(4, "s1"), rect(5, "r1")])
    errors, acked = await answers(alice, errors=1, acked=1)
    [error] = errors
    assert (error.code, error.ids, error.field) == ("board_full", [4], "op.p")
    assert error.message == "op.p: its strokes would pass 6 points, the most a board may have"
    assert list(acked) == [5]

    # Another client on the board: a stroke with points is refused too, a move is not.
    await bob.send_ops([stroke(1, "s2"), {"i": 2, "k": "mov", "ids": ["s1"], "dx": 5, "dy": 5}])
    errors, acked = await answers(bob, errors=1, acked=0)
    assert [(e.code, e.ids, e.field) for e in errors] == [("board_full", [1], "op.el.p")]
    # (bob's mov waits behind his refused op for a tick, then goes on)
    assert [i for i, _ in await bob.expect_acked(1)] == [2]

    # Another board has its own budget.
    await carol.send_ops([stroke(1, "c1"), append(2, "c1"), append(3, "c1")])
    assert len(await carol.expect_acked(3)) == 3

    rows = await board_rows(board)
    assert [(client, i) for _, client, i in rows] == [
        ("alice-tab-1", 1),
        ("alice-tab-1", 2),
        ("alice-tab-1", 3),
        ("alice-tab-1", 5),
        ("bob-tab-1", 2),
    ]
    for client in (alice, bob, carol):
        await client.close()


async def test_the_text_budget_counts_adds_and_growing_updates(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    budgets(settings, MAX_BOARD_TEXT_CHARS=10)
    alice = await connect(board, user, client_id="alice-tab-1")
    await alice.sync()
    await alice.send_ops([text(1, "t1", "hello"), text(2, "t2", "world")])
    assert len(await alice.expect_acked(2)) == 2  # 10 of 10

    await alice.send_ops([text(3, "t3", "!")])
    errors, _ = await answers(alice, errors=1, acked=0)
    assert [(e.code, e.ids, e.field) for e in errors] == [("board_full", [3], "op.el.text")]
    assert "10 characters" in errors[0].message

    # Shrinking is always allowed; growing back within the budget too, past it not.
    await alice.send_ops([{"i": 4, "k": "upd", "id": "t1", "set": {"text": "hi"}}])
    assert [i for i, _ in await alice.expect_acked(1)] == [4]  # 7 of 10
    await alice.send_ops([{"i": 5, "k": "upd", "id": "t1", "set": {"text": "hi!!!"}}])
    assert [i for i, _ in await alice.expect_acked(1)] == [5]  # 10 of 10
    await alice.send_ops([{"i": 6, "k": "upd", "id": "t2", "set": {"text": "world!"}}])
    errors, _ = await answers(alice, errors=1, acked=0)
    assert [(e.code, e.ids, e.field) for e in errors] == [("board_full", [6], "op.set.text")]
    assert [i for _, _, i in await board_rows(board)] == [1, 2, 4, 5]
    await alice.close()


async def test_the_budget_holds_for_a_board_loaded_from_its_snapshot_and_log(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    # The hub loads this board as a deferred state (a snapshot plus a tail): the totals are
    # counted when it is built, not left at zero.
    budgets(settings, MAX_BOARD_POINTS=10)
    ops = [stroke(1, "s1"), append(2, "s1"), append(3, "s1")]
    await sync_to_async(append_ops)(board_id=board.id, author_id=None, client_id="old", ops=ops)
    await sync_to_async(create_snapshot)(board.id, upto_seq=3)
    tail = [append(4, "s1")]  # 8 points in all
    await sync_to_async(append_ops)(board_id=board.id, author_id=None, client_id="old", ops=tail)

    alice = await connect(board, user, since=4, client_id="alice-tab-1")
    await alice.sync()
    await alice.send_ops([append(1, "s1"), append(2, "s1")])  # 10 of 10, then 12
    errors, acked = await answers(alice, errors=1, acked=1)
    assert list(acked) == [1]
    assert [(e.code, e.ids) for e in errors] == [("board_full", [2])]
    await alice.close()
