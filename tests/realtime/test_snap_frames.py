"""
`snap` frames spliced from stored snapshots, the per-process frame cache, and catch-ups that use
them: the same bytes as encoding the state, and a client reaching the board at the head.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async

from board.document import BoardState, apply_in_place
from board.models import Snapshot
from board.oplog import append_ops
from board.snapshots import create_snapshot, decode_snapshot, encode_snapshot, state_at
from realtime.engine import store
from realtime.engine.catchup import SNAP_FRAMES, SnapFrames
from realtime.engine.hub import get_hub
from realtime.wire import protocol
from realtime.wire.frames import encode_snap
from tests.support import refclient
from tests.support.ops import append, stroke

STYLE = {"color": "#1e1e1e", "width": 3, "opacity": 1, "fill": None}


def board_of(n: int, seq: int) -> BoardState:
    state = BoardState(seq=seq)
    for k in range(n):
        el_id = f"el{k}"
        state.elements[el_id] = {
            "id": el_id,
            "type": "stroke" if k % 2 else "rect",
            "x": k,
            "y": -k,
            "style": dict(STYLE),
            **({"p": [0, 0, k, 2 * k], "pr": [50, 60]} if k % 2 else {"w": 3.5, "h": 4}),
        }
    return state


@pytest.mark.parametrize(
    ("elements", "seq"), [(0, 0), (1, 1), (3, 127), (20, 128), (5, 65_536), (2, 2**32 + 5)]
)
def test_a_spliced_snapshot_is_the_encoded_state_byte_for_byte(elements: int, seq: int) -> None:
    state = board_of(elements, seq)
    stored = encode_snapshot(state)
    assert store.snap_from_snapshot(stored) == (seq, encode_snap(state))
    assert store.snap_from_snapshot(stored) == (seq, encode_snap(decode_snapshot(stored)))
    decoded = refclient.decode_server_binary(store.snap_from_snapshot(stored)[1])  # type: ignore[index]
    assert isinstance(decoded, protocol.Snap) and (decoded.s, decoded.els) == (
        seq,
        list(state.elements.values()),
    )


@pytest.mark.parametrize(
    "stored",
    [
        msgpack.packb({"v": 1, "els": [], "s": 3}),  # els not last: its end is unknown
        msgpack.packb({"v": 2, "s": 3, "els": []}),  # a newer format
        msgpack.packb({"v": 1, "s": "3", "els": []}),
        msgpack.packb({"s": 3, "els": []}),
        msgpack.packb([1, 3, []]),
        b"\x83\xa1v",  # truncated
        b"",
    ],
)
def test_an_unexpected_snapshot_layout_is_not_spliced(stored: bytes) -> None:
    assert store.snap_from_snapshot(stored) is None


def test_snap_frames_keep_the_newest_frame_per_board_within_the_byte_budget() -> None:
    frames = SnapFrames(max_bytes=10)
    frames.put("a", 5, b"aaaa")
    frames.put("a", 4, b"old")  # older than what is kept: ignored
    assert frames.get("a") == (5, b"aaaa")
    frames.put("b", 1, b"bbbb")
    frames.get("a")  # a is now the most recently used
    frames.put("c", 1, b"cccc")  # 12 bytes: the least recently used (b) goes
    assert (frames.get("a"), frames.get("b"), frames.get("c")) == ((5, b"aaaa"), None, (1, b"cccc"))
    frames.put("a", 6, b"a")
    assert (frames.get("a"), frames.size) == ((6, b"a"), 5)


def store_ops(board: Any, n: int, start: int = 1) -> None:
    ops = [stroke(start, f"e{start}")] + [append(start + k, f"e{start}") for k in range(1, n)]
    append_ops(board_id=board.id, author_id=None, client_id="seeder-01", ops=ops)


def client_state(frames: list[Any]) -> BoardState:
    """
    What a client holds after applying catch-up frames in order (protocol §4).
    """
    state = BoardState()
    for frame in frames:
        if isinstance(frame, protocol.Snap):
            state = BoardState({el["id"]: el for el in frame.els}, frame.s)
        else:
            for entry in frame.ops:
                if entry["s"] > state.seq:
                    apply_in_place(state, entry)
    return state


@pytest.mark.django_db(transaction=True)
@pytest.mark.requires_postgres
async def test_a_cold_board_is_sent_its_stored_snapshot_and_the_tail(
    memory_layer, connect, board, user
):
    await sync_to_async(store_ops)(board, 6)
    snapshot = await sync_to_async(create_snapshot)(board.id)
    await sync_to_async(store_ops)(board, 4, 100)  # 7..10 after the snapshot
    client = await connect(board, user, since=0)
    assert client.hello.head_seq == 10
    frames, synced = await client.sync()
    assert isinstance(frames[0], protocol.Snap) and frames[0].s == snapshot.seq == 6
    assert [e["s"] for f in frames[1:] for e in f.ops] == [7, 8, 9, 10]
    assert synced.seq == 10
    head = await sync_to_async(state_at)(board.id)
    assert client_state(frames) == head
    # The frame was spliced from the stored bytes, which the load kept for later catch-ups.
    stored = bytes(await sync_to_async(lambda: Snapshot.objects.get(id=snapshot.id).state)())
    assert SNAP_FRAMES.get(board.id) == store.snap_from_snapshot(stored)
    # The client got its snap before the elements were decoded; the hub then builds them (the
    # snapshot plus the tail) in a reader thread without waiting for an op, and the live state
    # stays exact.
    room = get_hub().rooms[board.id]
    assert room.state is not None
    for _ in range(200):
        if not room.state.is_deferred:
            break
        await asyncio.sleep(0.01)
    assert not room.state.is_deferred
    await client.send_ops([append(1, "e100")])
    assert await client.expect_acked(1) == [(1, 11)]
    assert room.state == await sync_to_async(state_at)(board.id)
    await client.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.requires_postgres
async def test_a_snapshot_too_far_behind_is_replaced_by_the_live_state(
    memory_layer, connect, board, user, monkeypatch
):
    monkeypatch.setattr(store, "SNAP_TAIL_MAX_OPS", 2)
    await sync_to_async(store_ops)(board, 3)
    await sync_to_async(create_snapshot)(board.id)
    await sync_to_async(store_ops)(board, 5, 100)  # 4..8: 5 ops past the snapshot
    client = await connect(board, user, since=0)
    frames, synced = await client.sync()
    head = await sync_to_async(state_at)(board.id)
    assert [type(f) for f in frames] == [protocol.Snap]
    assert frames[0].s == synced.seq == 8
    assert client_state(frames) == head
    # The encoded frame is kept: the next far client gets it without another encoding.
    assert SNAP_FRAMES.get(board.id) == (8, encode_snap(head))
    again = await connect(board, user, since=0)
    frames, _ = await again.sync()
    assert client_state(frames) == head
    for c in (client, again):
        await c.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.requires_postgres
def test_a_catch_up_read_from_the_log_forwards_the_stored_snapshot(board, monkeypatch):
    store_ops(board, 5)
    create_snapshot(board.id)
    store_ops(board, 3, 100)
    frame, seq, rows = store.read_snapshot_catchup(board.id)
    assert (seq, [s for s, _ in rows]) == (5, [6, 7, 8])
    assert frame == encode_snap(state_at(board.id, 5))
    monkeypatch.setattr(store, "SNAP_TAIL_MAX_OPS", 2)  # too far behind: materialise the head
    assert store.read_snapshot_catchup(board.id) == (encode_snap(state_at(board.id)), 8, [])
