"""
Catch-up, gaps, pushes from sync code, flow control and drain, through the real ASGI stack.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.management import call_command

from board import services
from board.document import BoardState, replay
from board.events import OpsAppended, send_on_commit
from board.models import Membership, Role, Snapshot, SnapshotKind
from board.oplog import decode_entry, ops_between
from board.snapshots import decode_snapshot, state_at
from realtime.cluster.fanout import PODS_GROUP
from realtime.engine import autosnapshot, store
from realtime.engine.hub import get_hub
from realtime.engine.sender import SEND_STALL_SECS
from realtime.wire import protocol
from realtime.wire.frames import encode_snap, ops_frame_from_entries
from realtime.wire.protocol import CloseCode
from tests.support.ops import append, stroke
from tests.support.sockets import collect_ops
from tests.support.store import board_rows, store_ops

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


async def test_reconnect_with_since_gets_exactly_the_missing_ops_then_live(
    layer, connect, board, user
):
    await sync_to_async(store_ops)(board, 10)
    client = await connect(board, user, since=6)
    assert client.hello.head_seq == 10
    frames, synced = await client.sync()
    assert [e["s"] for f in frames for e in f.ops] == [7, 8, 9, 10]
    assert synced.seq == 10
    other = await connect(board, user)
    await other.sync()
    await other.send_ops([append(100, "e1")])
    assert await collect_ops(client, 11) == [11]
    await client.send_text(protocol.ClientResync(from_seq=8))
    frames, synced = await client.sync()
    assert [e["s"] for f in frames for e in f.ops] == [9, 10, 11]
    await client.close()
    await other.close()


async def test_far_behind_clients_get_a_snapshot_plus_the_tail(
    memory_layer, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "SNAPSHOT_CATCHUP_OPS": 3, "CATCHUP_FRAME_OPS": 2}
    await sync_to_async(store_ops)(board, 9)
    client = await connect(board, user, since=2)
    frames, synced = await client.sync()
    assert isinstance(frames[0], protocol.Snap) and frames[0].s == 9
    assert [el["id"] for el in frames[0].els] == ["e1"]
    assert len(frames[0].els[0]["p"]) == 4 + 8 * 4  # the add, then 8 appends of 2 points
    assert synced.seq == 9
    near = await connect(board, user, since=7)
    frames, _ = await near.sync()
    assert [[e["s"] for e in f.ops] for f in frames] == [[8, 9]]
    await sync_to_async(store_ops)(board, 5, start=100)  # behind the hub's back: 10..14
    behind = await connect(board, user, since=8)
    frames, synced = await behind.sync()
    # The room has not seen 10..14 yet, so it judged the client near. The catch-up stops at what
    # the room delivered: 10..14 come as live frames once it learns of them, and only then.
    assert [e["s"] for f in frames for e in f.ops] == [9]
    assert synced.seq == 9
    await sync_to_async(send_on_commit)(OpsAppended(board.id, 10, 14))
    assert await collect_ops(behind, 14) == [10, 11, 12, 13, 14]
    # The snapshot read from the log (used when the live state is not exact) is the same frame.
    from_log, seq, tail = await sync_to_async(store.read_snapshot_catchup)(board.id)
    state = await sync_to_async(state_at)(board.id)
    assert (seq, tail, from_log) == (14, [], encode_snap(state))
    for c in (client, near, behind):
        await c.close()


async def test_catch_up_while_others_draw_has_no_gap_and_no_duplicate(
    layer, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "CATCHUP_FRAME_OPS": 7}
    await sync_to_async(store_ops)(board, 40)
    writer = await connect(board, user, client_id="writer-01")
    await writer.sync()
    writer_ops = [append(200 + k, "e1") for k in range(30)]

    async def draw() -> None:
        for op in writer_ops:
            await writer.send_ops([op])
            await asyncio.sleep(0.002)

    drawing = asyncio.get_running_loop().create_task(draw())
    late = await connect(board, user, since=3)
    seqs: list[int] = []
    frames, synced = await late.sync()
    seqs = [e["s"] for f in frames for e in f.ops]
    await drawing
    seqs += await collect_ops(late, 70) if synced.seq < 70 else []
    assert seqs == list(range(4, 71))
    await late.close()
    await writer.close()


async def test_a_gap_between_processes_is_filled_from_the_log(layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(store_ops)(board, 3)  # seqs 1..3, as another process would
    rows = await sync_to_async(_entries)(board, 3, 3)
    frame = ops_frame_from_entries(rows)
    layer_ = get_channel_layer()
    # Only the batch for seq 3 arrives (1..2 were dropped): the hub must not deliver it alone.
    await layer_.group_send(
        PODS_GROUP,
        {"type": "board.batch", "origin": "other-pod", "boards": {board.id: [3, 3, frame]}},
    )
    assert await collect_ops(client, 3) == [1, 2, 3]
    # A duplicate of an already delivered batch is dropped.
    await layer_.group_send(
        PODS_GROUP,
        {"type": "board.batch", "origin": "other-pod", "boards": {board.id: [3, 3, frame]}},
    )
    await client.send_text(protocol.ClientPing(t=1))
    assert isinstance(await client.recv(), protocol.Pong)
    await client.close()


async def _layer_messages(layer_: Any, channel: str, wait: float) -> list[dict[str, Any]]:
    """
    What the layer delivered to `channel` within `wait` seconds, except this test's own sends.
    """
    out: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            message = await asyncio.wait_for(layer_.receive(channel), left)
        except TimeoutError:
            break
        if message.get("origin") != "other-pod":
            out.append(message)
    return out


async def test_ticks_go_through_the_layer_only_to_hubs_holding_the_board(
    layer, connect, board, user
):
    layer_ = get_channel_layer()
    other = await layer_.new_channel()
    await layer_.group_add(PODS_GROUP, other)
    writer = await connect(board, user, client_id="writer-01")
    await writer.sync()
    await writer.send_ops([stroke(1, "e1")])
    assert await collect_ops(writer, 1) == [1]
    heard = await _layer_messages(layer_, other, 0.3)
    # The hub announced that it holds the board, but no other hub does: no ticks went out.
    assert any(board.id in m.get("rooms", []) for m in heard)
    assert not [m for m in heard if m.get("boards")]
    # Another hub opens the board: this one answers within a tick, then sends it the ticks.
    await layer_.group_send(
        PODS_GROUP,
        {
            "type": "board.batch",
            "origin": "other-pod",
            "boards": {},
            "presence": {board.id: []},
            "rooms": [board.id],
        },
    )
    heard = await _layer_messages(layer_, other, 0.3)
    answer = [m for m in heard if board.id in m.get("rooms", [])]
    assert answer and [e["client_id"] for e in answer[0]["presence"][board.id]] == ["writer-01"]
    await writer.send_ops([append(2, "e1")])
    assert await collect_ops(writer, 2) == [2]
    heard = await _layer_messages(layer_, other, 0.3)
    assert [m["boards"][board.id][:2] for m in heard if m.get("boards")] == [[2, 2]]
    await writer.close()


def _entries(board: Any, first: int, last: int) -> list[bytes]:
    from board.oplog import ops_between

    return [entry for _, entry in ops_between(board.id, first - 1, last)]


async def test_a_lost_last_batch_is_noticed_by_the_head_check(memory_layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(store_ops)(board, 2)  # no layer message at all
    assert await collect_ops(client, 2, timeout=8) == [1, 2]
    await client.close()


async def test_sync_code_pushes_title_restore_and_deletion(layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await client.send_ops([stroke(1, "s1")])
    await client.expect_acked(1)
    snap = await sync_to_async(services.snapshot_create)(board=board, created_by=user, label="v1")
    await client.send_ops([stroke(2, "s2")])
    await client.expect_acked(1)
    await sync_to_async(services.board_update)(board=board, title="Renamed")
    assert await client.expect(protocol.BoardMeta) == protocol.BoardMeta(
        title="Renamed", link_access="none"
    )
    await sync_to_async(services.snapshot_restore)(snapshot=snap, author=user)
    while True:
        frame = await client.expect(protocol.OpsFrame)
        if frame.ops[-1]["k"] == "rst":
            break
    assert frame.ops[-1]["s"] == 3 and [e["id"] for e in frame.ops[-1]["els"]] == ["s1"]
    await sync_to_async(services.board_delete)(board=board)
    assert await client.expect_close() == CloseCode.NOT_FOUND


async def test_access_changes_close_with_forbidden_or_role_changed(
    layer, connect, board, make_user
):
    bob = await sync_to_async(make_user)("bob")
    carol = await sync_to_async(make_user)("carol")
    m_bob = await sync_to_async(services.membership_add)(board=board, user=bob, role=Role.EDITOR)
    await sync_to_async(services.membership_add)(board=board, user=carol, role=Role.EDITOR)
    bob_socket = await connect(board, bob)
    carol_socket = await connect(board, carol)
    await sync_to_async(services.membership_set_role)(membership=m_bob, role=Role.VIEWER)
    assert await bob_socket.expect_close() == CloseCode.ROLE_CHANGED
    m_carol = await sync_to_async(Membership.objects.get)(board=board, user=carol)
    await sync_to_async(services.membership_remove)(membership=m_carol)
    assert await carol_socket.expect_close() == CloseCode.FORBIDDEN


@pytest.mark.parametrize("how", ["deleted", "deactivated"])
async def test_an_account_deleted_or_deactivated_is_disconnected_everywhere(
    layer, connect, board, make_user, how
):
    bob = await sync_to_async(make_user)("bob")
    carol = await sync_to_async(make_user)("carol")
    other_board = await sync_to_async(services.board_create)(owner=bob, title="bob's")
    await sync_to_async(services.membership_add)(board=board, user=bob, role=Role.EDITOR)
    await sync_to_async(services.membership_add)(board=board, user=carol, role=Role.EDITOR)
    bob_here, bob_there = await connect(board, bob), await connect(other_board, bob)
    carol_socket = await connect(board, carol)
    await carol_socket.sync()
    if how == "deleted":
        await sync_to_async(bob.delete)()
    else:
        bob.is_active = False
        await sync_to_async(bob.save)()
    assert await bob_here.expect_close() == CloseCode.UNAUTHENTICATED
    assert await bob_there.expect_close() == CloseCode.UNAUTHENTICATED
    await carol_socket.send_ops([stroke(1, "e1")])
    assert await collect_ops(carol_socket, 1) == [1]  # the others on the board carry on
    await carol_socket.close()


def stalling(app: Any, gate: asyncio.Event, after: int) -> Any:
    """
    The app behind a transport that stops taking frames after `after` sends until `gate` opens:
    a client that stopped reading (the server's send blocks on a full TCP buffer).
    """

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        sent = 0

        async def slow_send(message: Any) -> None:
            nonlocal sent
            sent += 1
            if sent > after:
                await gate.wait()
            await send(message)

        await app(scope, receive, slow_send)

    return wrapped


async def test_a_slow_socket_is_closed_4008_and_never_stalls_the_room(
    layer, connect, app, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "SEND_QUEUE_FRAMES": 6}
    gate = asyncio.Event()
    slow = await connect(board, user, application=stalling(app, gate, after=4))
    fast = await connect(board, user)
    await fast.sync()
    for k in range(1, 16):
        await fast.send_ops([stroke(k, f"s{k}")])
        assert await fast.expect_acked(1) == [(k, k)]  # the room keeps its pace
    gate.set()
    assert await slow.expect_close() == CloseCode.TOO_SLOW
    assert len(await board_rows(board)) == 15
    await fast.close()


def gated(app: Any, gate: asyncio.Event) -> Any:
    """
    The app behind a transport that takes frames only while `gate` is open: clearing it is a
    client that stopped reading.
    """

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def gated_send(message: Any) -> None:
            await gate.wait()
            await send(message)

        await app(scope, receive, gated_send)

    return wrapped


async def test_a_socket_that_takes_no_frame_for_the_stall_bound_is_closed_4008(
    memory_layer, fake_clock, connect, app, board, user
):
    """
    Long before its queue fills, a socket whose frames have waited SEND_STALL_SECS (the hub's
    clock) is closed: a few frames a second would take minutes to fill it.
    """
    gate = asyncio.Event()
    gate.set()
    slow = await connect(board, user, application=gated(app, gate))
    await slow.sync()
    fast = await connect(board, user)
    await fast.sync()
    assert slow.hello is not None
    peers = get_hub().rooms[board.id].peers.values()
    [peer] = [p for p in peers if p.client_id == slow.hello.client_id]
    gate.clear()
    for k, wait in [(1, 0.0), (2, 0.0), (3, SEND_STALL_SECS), (4, 0.5)]:
        fake_clock.advance(wait)
        await fast.send_ops([stroke(k, f"s{k}")])
        assert await fast.expect_acked(1) == [(k, k)]  # the room keeps its pace
        # Frames wait from op 2 on (op 1 is the one the stalled send holds).
        assert peer.send_queue.closed is (k == 4), k
    gate.set()
    assert await slow.expect_close() == CloseCode.TOO_SLOW
    await fast.close()


async def test_rate_limit_refuses_then_closes_4029(
    memory_layer, fake_clock, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "OPS_PER_SEC": 1.0, "OPS_BURST": 2.0}
    client = await connect(board, user)
    await client.sync()
    await client.send_ops([stroke(1, "s1"), stroke(2, "s2")])
    assert await client.expect_acked(2) == [(1, 1), (2, 2)]
    await client.send_ops([stroke(3, "s3")])
    error = await client.expect(protocol.Error)
    assert (error.code, error.ids) == ("rate_limited", [3])
    for k in range(4, 40):
        await client.send_ops([stroke(k, f"s{k}")])
    assert await client.expect_close() == CloseCode.RATE_LIMITED
    assert [r[2] for r in await board_rows(board)] == [1, 2]


async def test_cursor_flood_spends_the_byte_budget_then_closes_4029(
    memory_layer, fake_clock, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "BYTES_PER_SEC": 10.0, "BYTES_BURST": 200.0}
    client = await connect(board, user)
    await client.sync()
    cursor = msgpack.packb({"t": "cur", "x": 10, "y": 20})
    for _ in range(200):
        await client.comm.send_input({"type": "websocket.receive", "bytes": cursor})
    assert await client.expect_close() == CloseCode.RATE_LIMITED


async def test_drain_commits_pending_ops_then_closes_1012(
    memory_layer, connect, board, user, settings
):
    settings.INKROOM = {
        **settings.INKROOM,
        "TICK_MS": 1000,
        "FLUSH_IDLE_CPU": 0,
    }  # keep op 2 pending
    client = await connect(board, user)
    await client.sync()
    await client.send_ops([stroke(1, "s1")])
    assert await client.expect_acked(1) == [(1, 1)]
    await client.send_ops([stroke(2, "s2")])
    hub = get_hub()
    for _ in range(100):
        if hub.rooms[board.id].pending:
            break
        await asyncio.sleep(0.01)
    assert hub.rooms[board.id].pending
    await hub.drain()
    assert hub.draining
    assert await client.expect_acked(1) == [(2, 2)]
    assert await client.expect_close() == CloseCode.SERVICE_RESTART
    late = await connect(board, user, expect_hello=False)
    assert await late.expect_close() == CloseCode.SERVICE_RESTART


async def test_a_management_command_pushes_to_live_sockets(layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(call_command)("board_set", board.id, "--title", "From the shell")
    meta = await client.expect(protocol.BoardMeta)
    assert meta.title == "From the shell"
    await client.close()


def refuse_op_inserts(refuse: bool) -> None:
    """
    Make PostgreSQL itself fail every insert into the op log (a real refusal, not a mock).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if refuse:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION inkroom_refuse() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'simulated outage'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER inkroom_refuse BEFORE INSERT ON board_op "
                "FOR EACH ROW EXECUTE FUNCTION inkroom_refuse()"
            )
        else:
            cursor.execute("DROP TRIGGER IF EXISTS inkroom_refuse ON board_op")


async def test_a_refused_write_answers_unavailable_and_the_resend_is_stored(
    memory_layer, connect, board, user
):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(refuse_op_inserts)(True)
    try:
        await client.send_ops([stroke(1, "s1"), append(2, "s1")])
        error = await client.expect(protocol.Error)
        assert (error.code, error.ids) == ("unavailable", [1, 2])
    finally:
        await sync_to_async(refuse_op_inserts)(False)
    assert await board_rows(board) == []
    await client.send_ops([stroke(1, "s1"), append(2, "s1")])  # the client resends its outbox
    assert await client.expect_acked(2) == [(1, 1), (2, 2)]
    assert [r[0] for r in await board_rows(board)] == [1, 2]
    await client.close()


async def test_ops_after_a_refused_one_wait_for_its_resend_instead_of_being_rejected(
    memory_layer, connect, board, user
):
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(refuse_op_inserts)(True)
    try:
        await client.send_ops([stroke(1, "s1")])
        error = await client.expect(protocol.Error)
        assert (error.code, error.ids) == ("unavailable", [1])
    finally:
        await sync_to_async(refuse_op_inserts)(False)
    # The stroke's tail was in flight: it must not be refused for good as "no element".
    await client.send_ops([append(2, "s1"), append(3, "s1")])
    error = await client.expect(protocol.Error)
    assert (error.code, error.ids) == ("unavailable", [2, 3])
    await client.send_ops([stroke(1, "s1"), append(2, "s1"), append(3, "s1")])
    await client.expect_acked(3)
    assert [r[0] for r in await board_rows(board)] == [1, 2, 3]
    await client.close()


@pytest.mark.parametrize("source", ["live state", "log"])
async def test_active_rooms_take_automatic_snapshots_off_the_hot_path(
    memory_layer, connect, board, user, settings, monkeypatch, source
):
    # A small board is snapshotted from the room's live state, a big one from the log: either
    # way the stored snapshot is exactly the log replayed up to its seq.
    if source == "log":
        monkeypatch.setattr(autosnapshot, "LIVE_SNAPSHOT_MAX_ELEMENTS", 0)
    paths: list[str] = []
    for name in ("store_live_snapshot", "take_snapshot"):
        real = getattr(store, name)
        monkeypatch.setattr(
            store, name, lambda *a, _name=name, _real=real: paths.append(_name) or _real(*a)
        )
    settings.INKROOM = {**settings.INKROOM, "SNAPSHOT_EVERY_OPS": 5}
    client = await connect(board, user)
    await client.sync()
    for k in range(1, 8):
        await client.send_ops([stroke(2 * k - 1, f"s{k}"), append(2 * k, f"s{k}")])
        await client.expect_acked(2)
    for _ in range(100):
        snaps = await sync_to_async(list)(
            Snapshot.objects.filter(board=board, kind=SnapshotKind.AUTO).values_list("seq", "state")
        )
        if snaps:
            break
        await asyncio.sleep(0.05)
    assert snaps and min(seq for seq, _ in snaps) >= 5
    assert set(paths) == {"store_live_snapshot" if source == "live state" else "take_snapshot"}
    for seq, stored in snaps:
        entries = await sync_to_async(ops_between)(board.id, 0, seq)
        from_log = replay(BoardState(), (decode_entry(payload) for _s, payload in entries))
        snapshot = decode_snapshot(bytes(stored))
        assert snapshot.seq == from_log.seq == seq
        assert snapshot.elements == from_log.elements
        assert len(snapshot.elements) == seq // 2
    await client.close()


async def test_sockets_open_and_draw_while_redis_is_unreachable(connect, board, user, settings):
    # Port 18149 is in this suite's range and nothing listens there: the layer is down.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:18149/0"]},
        }
    }
    client = await connect(board, user)
    await client.sync()
    other = await connect(board, user)
    await other.sync()
    await client.send_ops([stroke(1, "s1")])
    assert await collect_ops(other, 1) == [1]
    assert await client.expect_acked(1) == [(1, 1)]
    await client.close()
    await other.close()
