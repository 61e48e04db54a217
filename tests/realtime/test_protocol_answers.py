"""
The server's answers that a client written from docs/protocol.md alone must be able to predict:
the ids of `invalid_op` and `too_large`, `board_full` for a stroke too long in either encoding,
the same points cap for an `add` in v1 and v2, what a refused compact frame leaves behind for
UP_NEXT and UP_APP, and the rate-limit budget's scope.
"""

from __future__ import annotations

from typing import Any

import pytest

from realtime.wire import protocol
from tests.support import refclient
from tests.support.sockets import Client
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
SMOOTH = [4, 1, 4, 2, 5, 2, 5, 3]


def limits(settings: Any, **values: int) -> None:
    # Before the first socket: the test loop's hub reads its limits when it is created.
    settings.INKROOM = {**settings.INKROOM, **values}


def stroke_of(i: int, el_id: str, points: int) -> dict[str, Any]:
    el = {"id": el_id, "type": "stroke", "x": 0, "y": 0, "style": STYLE, "p": [1, 0] * points}
    return {"i": i, "k": "add", "el": el}


async def drawing(connect: Any, board: Any, user: Any, version: int = 2) -> Client:
    client = await connect(board, user, client_id=f"tab-v{version}-1", version=version)
    await client.sync()
    return client


async def test_an_op_with_no_valid_id_is_refused_naming_no_id(
    memory_layer: Any, connect: Any, board: Any, user: Any
) -> None:
    alice = await drawing(connect, board, user, version=1)
    for k, i in enumerate((None, 0, -3, 2**53)):
        op: dict[str, Any] = {"k": "clr"} if i is None else {"i": i, "k": "clr"}
        await alice.send_ops([op, {"i": 10 + k, "k": "del", "ids": ["x"]}])
        error = await alice.expect(protocol.Error)
        assert (error.code, error.ids, error.field) == ("invalid_op", [], "ops[0].i"), i
        assert [i for i, _ in await alice.expect_acked(1)] == [10 + k]  # the frame's other op
    assert [i for _, _, i in await board_rows(board)] == [10, 11, 12, 13]
    await alice.close()


async def test_a_frame_above_max_frame_bytes_is_refused_naming_its_ops(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    """
    Nothing of it is stored; the client sends the same ops again in frames within the limit.
    """
    limits(settings, MAX_FRAME_BYTES=400)
    alice = await drawing(connect, board, user)
    ops = [stroke_of(i, f"s{i}", 60) for i in (1, 2, 3)]  # 200 bytes each
    await alice.send_ops(ops)
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids) == ("too_large", [1, 2, 3])
    big_add = refclient.encode_up_add(4, "s4", 0, 0, STYLE, [1, 0] * 500)
    await alice.comm.send_to(bytes_data=big_add)
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids) == ("too_large", [4])
    assert await board_rows(board) == []
    for op in ops:
        await alice.send_ops([op])
    assert [i for i, _ in await alice.expect_acked(3)] == [1, 2, 3]
    await alice.close()


async def test_a_stroke_past_max_points_per_stroke_is_board_full_in_either_encoding(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    limits(settings, MAX_POINTS_PER_STROKE=5)
    alice = await drawing(connect, board, user)
    await alice.send_ops([stroke_of(1, "s1", 6)])
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids, error.field) == ("board_full", [1], "op.el.p")
    assert error.message == "op.el.p: stroke would exceed 5 points"
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(2, "s2", 0, 0, STYLE, [1, 0] * 6))
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids, error.field) == ("board_full", [2], "op.el.p")
    await alice.send_ops([stroke_of(3, "s3", 5)])
    assert [i for i, _ in await alice.expect_acked(1)] == [3]
    await alice.close()


async def test_an_add_holds_up_to_max_points_per_stroke_in_v1_and_v2_an_append_per_op(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    limits(settings, MAX_POINTS_PER_OP=4, MAX_POINTS_PER_STROKE=50)
    alice = await drawing(connect, board, user)
    await alice.send_ops([stroke_of(1, "s1", 9)])
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(2, "s2", 0, 0, STYLE, [1, 0] * 9))
    assert [i for i, _ in await alice.expect_acked(2)] == [1, 2]
    await alice.send_ops([{"i": 3, "k": "app", "id": "s2", "p": [1, 1] * 5}])
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids, error.field) == ("invalid_op", [3], "ops[0].p")
    await alice.send_up_app(4, [1, 1] * 5)
    assert (await alice.expect(protocol.Error)).code == "bad_frame"  # a points block's bound
    await alice.close()


async def test_compact_frames_refused_after_decoding_still_number_and_name_the_stroke(
    memory_layer: Any, connect: Any, board: Any, user: Any
) -> None:
    """
    An UP_APP with no current stroke, or an UP_ADD with no style to repeat, is answered
    `bad_message` naming its op; the connection's last op id is then that op's, and an UP_ADD's
    element is the current stroke, exactly as if the op had been refused by validation.
    """
    alice = await drawing(connect, board, user)
    await alice.send_up_app(7, SMOOTH)
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids) == ("bad_message", [7])
    await alice.send_up_next(SMOOTH)  # numbered 8, still no current stroke
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids) == ("bad_message", [8])

    await alice.comm.send_to(bytes_data=refclient.encode_up_add(9, "s9", 0, 0, None, [0, 0]))
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids) == ("bad_message", [9])  # no style to repeat
    await alice.send_up_next(SMOOTH)  # op 10 on s9, which is not on the board
    error = await alice.expect(protocol.Error)
    assert (error.code, error.ids, error.field) == ("invalid_op", [10], "op.id")
    assert await board_rows(board) == []
    await alice.close()


async def test_the_rate_budget_is_the_sockets_and_a_new_socket_starts_full(
    memory_layer: Any, fake_clock: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    limits(settings, OPS_BURST=3)  # the hub's clock stands still: nothing refills
    first = await drawing(connect, board, user, version=1)
    second = await connect(board, user, client_id="tab-v1-2", version=1)
    await second.sync()
    await first.send_ops([{"i": n, "k": "del", "ids": ["x"]} for n in (1, 2, 3)])
    assert len(await first.expect_acked(3)) == 3
    await first.send_ops([{"i": 4, "k": "clr"}])
    error = await first.expect(protocol.Error)
    assert (error.code, error.ids) == ("rate_limited", [4])
    await second.send_ops([{"i": 1, "k": "clr"}])  # same user, another socket: its own budget
    assert len(await second.expect_acked(1)) == 1
    await first.close()
    again = await connect(board, user, client_id="tab-v1-1", version=1)  # same client id
    await again.sync()
    await again.send_ops([{"i": n, "k": "del", "ids": ["x"]} for n in (4, 5, 6)])
    assert [i for i, _ in await again.expect_acked(3)] == [4, 5, 6]
    await again.close()
    await second.close()
