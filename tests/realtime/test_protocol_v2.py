"""
Protocol v2 (docs/protocol.md §2.5) end to end: compact stroke appends up, DOWN_OPS frames with
handles down, beside v1 clients on the same board; and the server's handle bookkeeping.
"""

from __future__ import annotations

import random

import msgpack
import pytest
from asgiref.sync import sync_to_async

from board.document.limits import DELTA_MAX
from board.models import Membership, Op, Role
from realtime.wire import compact, handles, protocol
from realtime.wire.codec import DEFAULT_MAX_POINTS_PER_OP
from realtime.wire.handles import MAX_HANDLES, HandleTable, encode_delivery
from realtime.wire.protocol import CloseCode
from tests.support import refclient
from tests.support.ops import stroke
from tests.support.sockets import Defs
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

#: A smooth four-point run, as a hand moving at ~500 px/s sampled at 120 Hz.
SMOOTH = [4, 1, 4, 2, 5, 2, 5, 3]


async def _ops_frames(client, upto: int) -> list[tuple[bytes, protocol.OpsFrame]]:
    """
    (raw bytes, decoded frame) of every ops-carrying frame until seq `upto` has arrived.
    """
    got: list[tuple[bytes, protocol.OpsFrame]] = []
    while not got or got[-1][1].ops[-1]["s"] < upto:
        msg = await client.recv()
        if isinstance(msg, protocol.OpsFrame):
            got.append((client.last_raw, msg))
    return got


async def _trio(connect, board, user):
    """
    Alice (v2, the author), Bob (v2) and Carol (v1) on one board, caught up.
    """
    alice = await connect(board, user, client_id="alice-tab-1", version=2)
    bob = await connect(board, user, client_id="bob-tab-1", version=2)
    carol = await connect(board, user, client_id="carol-tab-1", version=1)
    for c in (alice, bob, carol):
        await c.sync()
    return alice, bob, carol


async def _v1_and_v2(connect, board, user):
    """
    Carol (v1) and Alice (v2) on one board, caught up.
    """
    v1 = await connect(board, user, client_id="carol-tab-1", version=1)
    v2 = await connect(board, user, client_id="alice-tab-1", version=2)
    await v1.sync()
    await v2.sync()
    return v1, v2


def _without_u(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "u"} for e in entries]


async def test_version_negotiation(memory_layer, connect, board, user):
    v2 = await connect(board, user, version=2)
    assert v2.hello.v == 2
    v1 = await connect(board, user, version=1)
    assert v1.hello.v == 1
    bad = await connect(board, user, query="v=3", expect_hello=False)
    assert await bad.expect_close() == CloseCode.PROTOCOL_ERROR
    await v2.close()
    await v1.close()


async def test_compact_appends_reach_v2_clients_as_down_ops_and_v1_clients_as_ops(
    memory_layer, connect, board, user
):
    alice, bob, carol = await _trio(connect, board, user)
    add = stroke(1, "s1")
    add["el"]["pr"] = [30, 35]  # a pen stroke: every append carries pressure too
    await alice.send_ops([add])
    await alice.send_up_app(2, SMOOTH, [40, 42, 45, 47])
    await alice.send_up_app(3, [-3, 7, -2, 8], [40, 55])
    assert [i for i, _ in await alice.expect_acked(3)] == [1, 2, 3]

    bob_frames = await _ops_frames(bob, 3)
    carol_frames = await _ops_frames(carol, 3)
    bob_entries = [e for _, f in bob_frames for e in f.ops]
    carol_entries = [e for _, f in carol_frames for e in f.ops]
    assert _without_u(bob_entries) == _without_u(carol_entries)
    assert [e["k"] for e in carol_entries] == ["add", "app", "app"]
    assert carol_entries[1]["id"] == "s1" and carol_entries[1]["p"] == SMOOTH
    assert carol_entries[2]["pr"] == [40, 55]
    assert all(raw[0] == compact.DOWN_OPS for raw, _ in bob_frames)
    assert all(raw[0] == 0x82 for raw, _ in carol_frames)  # v1: a msgpack map

    stored = await sync_to_async(list)(
        Op.objects.filter(board=board).order_by("seq").values_list("client_op_id", "payload")
    )
    assert [i for i, _ in stored] == [1, 2, 3]
    assert msgpack.unpackb(bytes(stored[2][1]))["pr"] == [40, 55]
    for c in (alice, bob, carol):
        await c.close()


async def test_a_smooth_append_costs_a_fraction_of_its_v1_bytes(memory_layer, connect, board, user):
    alice, bob, carol = await _trio(connect, board, user)
    await alice.send_ops([stroke(1, "q3Zr8aPc")])
    await alice.expect_acked(1)
    await _ops_frames(bob, 1)
    await _ops_frames(carol, 1)
    await alice.send_up_app(2, SMOOTH)
    (v2_raw, _), *_ = await _ops_frames(bob, 2)
    (v1_raw, _), *_ = await _ops_frames(carol, 2)
    up_v1 = len(
        msgpack.packb({"t": "ops", "ops": [{"i": 2, "k": "app", "id": "q3Zr8aPc", "p": SMOOTH}]})
    )
    up_v2 = len(refclient.encode_up_app(2, SMOOTH))
    # Down: this frame still defines the two handles inline; the next ones do not.
    assert len(v2_raw) < len(v1_raw), (len(v2_raw), len(v1_raw))
    assert up_v2 * 4 < up_v1, (up_v2, up_v1)
    await alice.send_up_app(3, SMOOTH)
    (v2_next, frame), *_ = await _ops_frames(bob, 3)
    assert frame.ops[0]["p"] == SMOOTH
    # Op 3 continues op 2: a tag-3 entry, the author handle and the points.
    assert len(v2_next) <= 11, v2_next.hex()  # head 4 + tag 1 + author 1 + points 1 + 4
    for c in (alice, bob, carol):
        await c.close()


async def test_up_app_errors_leave_the_socket_and_board_intact(memory_layer, connect, board, user):
    v1, v2 = await _v1_and_v2(connect, board, user)
    await v1.send_up_app(1, SMOOTH)
    err = await v1.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_frame", [1])

    await v2.send_up_app(7, SMOOTH)  # no stroke yet on this connection
    err = await v2.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_message", [7])
    await v2.comm.send_to(bytes_data=bytes([compact.UP_APP, 8, 2, 230]))  # reserved point code
    err = await v2.expect(protocol.Error)
    assert err.code == "bad_frame"
    await v2.comm.send_to(bytes_data=bytes([compact.UP_APP, 9]))  # truncated
    err = await v2.expect(protocol.Error)
    assert err.code == "bad_frame"

    await v2.send_ops([stroke(10, "s1")])
    await v2.send_up_app(11, SMOOTH)
    assert [i for i, _ in await v2.expect_acked(2)] == [10, 11]
    entries = [e for _, f in await _ops_frames(v1, 2) for e in f.ops]
    assert [(e["i"], e["k"]) for e in entries] == [(10, "add"), (11, "app")]
    await v1.close()
    await v2.close()


async def test_up_next_appends_are_numbered_after_the_connections_last_op(
    memory_layer, connect, board, user
):
    """
    UP_NEXT carries only points: its op is the next `i` after the last op frame of the
    connection, on its current stroke, stored and delivered like any `app`.
    """
    alice, bob, carol = await _trio(connect, board, user)
    await alice.send_ops([stroke(41, "s1")])
    await alice.send_up_next(SMOOTH)
    await alice.send_up_next([-3, 7, -2, 8])
    await alice.send_up_app(50, [1, 1])  # an explicit id moves the numbering on
    await alice.send_up_next([2, 2, 3, 3, 4, 4])
    assert [i for i, _ in await alice.expect_acked(5)] == [41, 42, 43, 50, 51]

    bob_entries = [e for _, f in await _ops_frames(bob, 5) for e in f.ops]
    carol_entries = [e for _, f in await _ops_frames(carol, 5) for e in f.ops]
    assert _without_u(bob_entries) == _without_u(carol_entries)
    assert [(e["i"], e["k"], e.get("id")) for e in carol_entries[1:]] == [
        (42, "app", "s1"), (43, "app", "s1"), (50, "app", "s1"), (51, "app", "s1")
    ]  # fmt: skip
    assert carol_entries[1]["p"] == SMOOTH and "pr" not in carol_entries[1]
    assert carol_entries[4]["p"] == [2, 2, 3, 3, 4, 4]
    # Five bytes for four smooth points: the frame holds nothing but its type and the codes.
    assert len(refclient.encode_up_next(SMOOTH)) == 5
    for c in (alice, bob, carol):
        await c.close()


async def test_up_next_errors_leave_the_socket_and_board_intact(memory_layer, connect, board, user):
    v1, v2 = await _v1_and_v2(connect, board, user)
    await v1.send_up_next(SMOOTH)
    err = await v1.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_frame", None)

    await v2.send_up_next(SMOOTH)  # no op yet on this connection: no number to follow
    err = await v2.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_message", None)
    await v2.comm.send_to(bytes_data=bytes([compact.UP_NEXT]))  # no points
    assert (await v2.expect(protocol.Error)).code == "bad_frame"
    await v2.comm.send_to(bytes_data=bytes([compact.UP_NEXT, 0x70, 230]))  # reserved code
    assert (await v2.expect(protocol.Error)).code == "bad_frame"
    await v2.comm.send_to(bytes_data=bytes([compact.UP_NEXT, compact.ESCAPE, 0x80]))  # truncated
    assert (await v2.expect(protocol.Error)).code == "bad_frame"
    over = refclient.encode_up_next([1, 1] * (DEFAULT_MAX_POINTS_PER_OP + 1))
    await v2.comm.send_to(bytes_data=over)
    assert (await v2.expect(protocol.Error)).code == "bad_frame"

    await v2.send_ops([{"i": 9, "k": "clr"}])  # a v1 ops frame sets the number, no stroke yet
    await v2.send_up_next(SMOOTH)
    err = await v2.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_message", [10])
    await v2.send_ops([stroke(20, "s1")])
    await v2.send_up_next(SMOOTH)
    assert [i for i, _ in await v2.expect_acked(3)] == [9, 20, 21]
    entries = [e for _, f in await _ops_frames(v1, 3) for e in f.ops]
    assert [(e["i"], e["k"]) for e in entries] == [(9, "clr"), (20, "add"), (21, "app")]
    for c in (v1, v2):
        await c.close()


async def test_an_invalid_compact_append_is_refused_with_its_id(memory_layer, connect, board, user):
    alice = await connect(board, user, client_id="alice-tab-1", version=2)
    await alice.sync()
    # The stroke is the current one even though its `add` is refused (a rectangle's id is taken).
    await alice.send_ops([stroke(1, "s1")])
    await alice.expect_acked(1)
    await alice.send_ops([{"i": 2, "k": "app", "id": "gone", "p": [1, 1]}])
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids) == ("invalid_op", [2])
    await alice.send_up_app(3, SMOOTH)  # targets "gone" too: refused the same way
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids) == ("invalid_op", [3])
    await alice.close()


async def test_a_late_v2_joiner_gets_the_definitions_and_continuations_it_missed(
    memory_layer, connect, board, user
):
    alice = await connect(board, user, client_id="alice-tab-1", version=2)
    await alice.sync()
    await alice.send_ops([stroke(1, "s1")])
    await alice.send_up_app(2, SMOOTH)
    await alice.expect_acked(2)

    dave = await connect(board, user, client_id="dave-tab-1", version=2)
    await dave.sync()
    await alice.send_up_app(3, SMOOTH)
    seen = []
    while True:
        msg = await dave.recv()
        seen.append(msg)
        if isinstance(msg, protocol.OpsFrame):
            break
    # The table and its continuations, when the live stream began: op 3 continues alice's op 2,
    # so it comes as a tag-3 entry (author handle and points only) that dave can read.
    assert [m.data[0] for m in seen if isinstance(m, Defs)] == [
        compact.DOWN_DEFS,
        compact.DOWN_CONT,
    ]
    assert dave.last_raw[:5] == bytes([compact.DOWN_OPS, 3, 0, 1, compact.ENTRY_NEXT])
    entry = seen[-1].ops[0]
    assert (entry["s"], entry["c"], entry["i"], entry["id"], entry["p"]) == (
        3,
        "alice-tab-1",
        3,
        "s1",
        SMOOTH,
    )
    await alice.close()
    await dave.close()


# --- the handle table, pure ---------------------------------------------------------------------


def _app(s: int, c: str, i: int, element: str) -> bytes:
    return msgpack.packb({"s": s, "c": c, "u": 1, "i": i, "k": "app", "id": element, "p": SMOOTH})


def _decoded(frame: bytes, names: dict[int, str]) -> list[dict]:
    _, entries = refclient.decode_down_ops(frame, names)
    return [e if isinstance(e, dict) else msgpack.unpackb(e) for e in entries]


def test_recycled_handles_stay_right_for_live_and_late_receivers():
    table = HandleTable()
    live: dict[int, str] = {}  # gets every frame from the start
    late: dict[int, str] | None = None  # starts at seq 200 with the table as it stands
    for seq in range(1, 400):
        if seq == 200:
            late = {}
            refclient.decode_defs(handles.encode_defs(table.definitions()), late)
        author = f"client-{seq % 5:04d}"
        element = f"stroke-{seq}"  # a new stroke each time: forces recycling past 128 names
        frame = encode_delivery(table, seq, [_app(seq, author, seq, element)])
        for names in (live, late):
            if names is not None:
                (entry,) = _decoded(frame, names)
                assert (entry["c"], entry["id"]) == (author, element)
    assert len(table) == MAX_HANDLES


def test_continued_strokes_stay_right_through_recycling_for_live_and_late_receivers():
    """
    Appends that follow their author's previous stroke entry go as tag 3 (no op id, no
    element); receivers that start late get the table (DEFS) and the continuations (CONT), and
    recycled handles never make a tag-3 entry continue someone else's stroke.
    """
    rng = random.Random(5)
    table = HandleTable()
    pens = {f"client-{a:04d}": [0, "", 0] for a in range(12)}  # last i, element, ops left
    receivers: list[tuple[dict[int, str], compact.Conts]] = []
    seq, strokes, continued = 1, 0, 0
    for tick in range(600):
        if tick in (0, 150, 300):
            names: dict[int, str] = {}
            conts: compact.Conts = {}
            refclient.decode_defs(handles.encode_defs(table.definitions()), names, conts)
            refclient.decode_cont(handles.encode_cont(table.continuations()), conts)
            receivers.append((names, conts))
        truth, entries = [], []
        for author in rng.sample(sorted(pens), rng.randint(1, 4)):
            pen = pens[author]
            if pen[2] == 0:  # a new stroke: a new element, so handles get recycled
                strokes += 1
                pen[1], pen[2] = f"stroke-{strokes}", rng.randint(1, 6)
            pen[0] += rng.choice((1, 1, 1, 2))  # now and then an op id is skipped
            pen[2] -= 1
            entries.append(_app(seq, author, pen[0], pen[1]))
            truth.append((seq, author, pen[0], pen[1]))
            seq += 1
        frame = encode_delivery(table, truth[0][0], entries)
        try:  # without continuations a frame with a tag-3 entry cannot be read
            refclient.decode_down_ops(frame, dict(receivers[0][0]))
        except compact.CompactError:
            continued += 1
        for names, conts in receivers:
            _, decoded = refclient.decode_down_ops(frame, names, conts=conts)
            got = [(e["s"], e["c"], e["i"], e["id"]) for e in decoded if isinstance(e, dict)]
            assert got == truth, tick
    assert strokes > MAX_HANDLES and continued > 300


def test_a_frame_with_more_names_than_handles_falls_back_to_v1_entries():
    table = HandleTable()
    entries = [_app(s, f"client-{s:04d}", s, f"stroke-{s}") for s in range(1, 101)]
    frame = encode_delivery(table, 1, entries)
    decoded = _decoded(frame, {})
    assert [(e["s"], e["c"], e["id"]) for e in decoded] == [
        (s, f"client-{s:04d}", f"stroke-{s}") for s in range(1, 101)
    ]
    # 64 appends use all 128 handles; the rest travel as their v1 bytes.
    tags = frame.count(b"\xa1k\xa3app")
    assert tags == 100 - MAX_HANDLES // 2


# --- stroke adds ---------------------------------------------------------------------------------

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
PEN = {"color": "#d9480f", "width": 2.5, "opacity": 0.8, "fill": None}


async def test_compact_stroke_adds_reach_v2_as_tag_2_and_v1_as_ops(
    memory_layer, connect, board, user
):
    alice, bob, carol = await _trio(connect, board, user)
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(1, "s1", -120, 80, STYLE, [0, 0]))
    await alice.send_up_app(2, SMOOTH)
    # The next stroke repeats the style ("") and has pressure; then one with another style.
    await alice.comm.send_to(
        bytes_data=refclient.encode_up_add(3, "s2", 40, -7, None, [0, 0, 1, 1], [30, 32])
    )
    await alice.send_up_app(4, SMOOTH, [33, 35, 36, 36])
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(5, "s3", 0, 0, PEN, [2, 3]))
    assert [i for i, _ in await alice.expect_acked(5)] == [1, 2, 3, 4, 5]

    bob_frames = await _ops_frames(bob, 5)
    carol_frames = await _ops_frames(carol, 5)
    bob_entries = [e for _, f in bob_frames for e in f.ops]
    carol_entries = [e for _, f in carol_frames for e in f.ops]
    assert _without_u(bob_entries) == _without_u(carol_entries)
    assert [(e["k"], e.get("id") or e["el"]["id"]) for e in carol_entries] == [
        ("add", "s1"),
        ("app", "s1"),
        ("add", "s2"),
        ("app", "s2"),
        ("add", "s3"),
    ]
    assert carol_entries[0]["el"] == {
        "id": "s1",
        "type": "stroke",
        "x": -120,
        "y": 80,
        "style": STYLE,
        "p": [0, 0],
    }
    assert carol_entries[2]["el"]["style"] == STYLE and carol_entries[2]["el"]["pr"] == [30, 32]
    assert carol_entries[4]["el"]["style"] == PEN
    # Bob's adds came compact: no v1 map bytes of an add in his frames.
    assert not any(b"\xa3add" in raw for raw, _ in bob_frames)
    for c in (alice, bob, carol):
        await c.close()


async def test_up_add_errors(memory_layer, connect, board, user):
    alice = await connect(board, user, client_id="alice-tab-1", version=2)
    await alice.sync()
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(1, "s1", 0, 0, None, [0, 0]))
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids) == ("bad_message", [1])  # no previous style to repeat
    bad_json = refclient.encode_up_add(2, "s2", 0, 0, STYLE, [0, 0]).replace(b'"#1e', b"#1e")
    await alice.comm.send_to(bytes_data=bad_json)
    err = await alice.expect(protocol.Error)
    assert err.code == "bad_frame"
    huge = {**STYLE, "width": 10_000}
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(3, "s3", 0, 0, huge, [0, 0]))
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids) == ("invalid_op", [3])
    # A refused add still made s3 the current stroke: its append is refused as well.
    await alice.send_up_app(4, SMOOTH)
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids) == ("invalid_op", [4])
    await alice.comm.send_to(bytes_data=refclient.encode_up_add(5, "s5", 0, 0, STYLE, [0, 0]))
    await alice.send_up_app(6, SMOOTH)
    assert [i for i, _ in await alice.expect_acked(2)] == [5, 6]
    assert [i for _, _, i in await board_rows(board)] == [5, 6]
    await alice.close()


def test_stroke_adds_from_the_log_are_sent_compact_too():
    """
    Entries from another process or the log (no authored ops) take the decoding path.
    """
    table = HandleTable()
    add = {"i": 9, "k": "add", "el": {"id": "s9", "type": "stroke", "x": 5, "y": -5,
           "style": PEN, "p": [0, 0], "pr": [50]}}  # fmt: skip
    rect = {"i": 10, "k": "add", "el": {"id": "r1", "type": "rect", "x": 0, "y": 0,
            "w": 3, "h": 4, "style": STYLE}}  # fmt: skip
    entries = [msgpack.packb({**op, "s": s, "c": "alice-tab-1", "u": 1}) for s, op in
               [(1, add), (2, rect)]]  # fmt: skip
    frame = encode_delivery(table, 1, entries)
    assert frame.count(b"\xa3add") == 1  # the rectangle travels as v1 bytes
    decoded = _decoded(frame, {})
    assert _without_u(decoded) == _without_u([msgpack.unpackb(e) for e in entries])


def test_stroke_adds_a_points_block_cannot_hold_go_as_v1_bytes():
    """
    A points block holds 1..max_points_per_op points: a pasted or restored stroke of more (or
    a stroke of none) travels as its v1 entry.
    """

    def add(s: int, points: int) -> dict:
        el = {"id": f"s{s}", "type": "stroke", "x": 0, "y": 0, "style": STYLE}
        return {"i": s, "k": "add", "el": {**el, "p": [1, 0] * points}}

    ops = [add(1, 0), add(2, 8), add(3, 9), add(4, 1)]
    entries = [msgpack.packb({**op, "s": op["i"], "c": "alice-tab-1", "u": 1}) for op in ops]
    for authored in (None, [("alice-tab-1", op) for op in ops]):
        frame = encode_delivery(HandleTable(), 1, entries, authored, max_points=8)
        assert frame.count(b"\xa3add") == 2  # ops 1 and 3
        decoded = _decoded(frame, {})
        assert _without_u(decoded) == _without_u([msgpack.unpackb(e) for e in entries])


async def test_compact_appends_of_a_viewer_or_out_of_range_are_refused_with_their_ids(
    memory_layer, connect, board, user, make_user
):
    viewer = await sync_to_async(make_user)("victor")
    await sync_to_async(Membership.objects.create)(board=board, user=viewer, role=Role.VIEWER)
    victor = await connect(board, viewer, client_id="victor-tab-1", version=2)
    await victor.sync()
    await victor.send_ops([stroke(1, "v1")])
    assert (await victor.expect(protocol.Error)).ids == [1]
    await victor.send_up_app(2, SMOOTH)
    await victor.send_up_next(SMOOTH)
    for op_id in (2, 3):
        err = await victor.expect(protocol.Error)
        assert (err.code, err.ids) == ("read_only", [op_id])

    alice = await connect(board, user, client_id="alice-tab-1", version=2)
    await alice.sync()
    await alice.send_ops([stroke(1, "s1")])
    await alice.send_up_next([1, 1, DELTA_MAX + 1, 0])  # an escaped delta past the range
    err = await alice.expect(protocol.Error)
    assert (err.code, err.ids, err.field) == ("invalid_op", [2], "ops[0].p[2]")
    await alice.send_up_next(SMOOTH)
    assert [i for i, _ in await alice.expect_acked(2)] == [1, 3]
    assert [i for _s, _c, i in await board_rows(board)] == [1, 3]
    for c in (victor, alice):
        await c.close()
