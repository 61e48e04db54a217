"""
Compact tentatives (protocol §2.6, `tentative=2`) while the next tick's ops are checked and
offered during the previous commit: a client may hold several DOWN_TENT batches, and each
DOWN_PROMOTE promotes the oldest; a frame of entries or a `tdrop` ends them all, on the client
and on the server alike, so nothing is ever promoted that the client does not hold first.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from realtime.engine import store
from realtime.wire import protocol
from realtime.wire.compact import DOWN_PROMOTE, DOWN_TENT
from realtime.wire.tentative import Tentative, TentativeDrop
from tests.realtime.test_tentative import feed, held_commit, synced
from tests.support.ops import append, stroke
from tests.support.sockets import Client
from tests.support.store import board_rows
from tests.support.tentative import TentativeView

pytestmark = pytest.mark.django_db(transaction=True)

COMPACT = "tentative=2"
__all__ = ["held_commit"]  # the fixture, used by name
#: The frames of ops a client reads; presence and cursors are left out.
OP_FRAMES = (protocol.OpsFrame, Tentative, TentativeDrop)


async def op_frames(client: Client, secs: float) -> list[tuple[Any, bytes]]:
    """
    Every frame of ops (entries, tentatives, drops) the client gets within `secs`, with its bytes.
    """
    got: list[tuple[Any, bytes]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + secs
    while loop.time() < deadline:
        if not await client.comm.receive_nothing(0.05):
            msg = await client.recv()
            if isinstance(msg, OP_FRAMES):
                got.append((msg, client.last_raw))
    return got


async def until_entries(client: Client, view: TentativeView, seq: int) -> list[bytes]:
    """
    Feed the view every frame until it has applied `seq`; return the raw frames of entries.
    """
    raws: list[bytes] = []
    while view.applied < seq:
        msg = await client.recv()
        if isinstance(msg, protocol.OpsFrame):
            raws.append(client.last_raw)
        feed(view, msg)
    return raws


async def test_two_batches_offered_during_one_commit_are_both_promoted_in_order(
    memory_layer, connect, board, user, held_commit
):
    first = await synced(await connect(board, user, version=2))
    second = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    view = TentativeView(watcher.hello.client_id)
    c1, c2 = first.hello.client_id, second.hello.client_id
    await first.send_ops([stroke(1, "s1"), append(2, "s1")])
    tent = await watcher.expect(Tentative)
    assert watcher.last_raw[0] == DOWN_TENT
    feed(view, tent)
    # The first commit is held: the second author's op is checked and offered meanwhile.
    await second.send_ops([stroke(1, "s2")])
    tent = await watcher.expect(Tentative)
    assert watcher.last_raw[0] == DOWN_TENT
    assert [(op["c"], op["i"]) for op in tent.ops] == [(c2, 1)]
    feed(view, tent)
    assert list(view.tentatives) == [(c1, 1), (c1, 2), (c2, 1)]
    assert await board_rows(board) == []
    held_commit.set()
    raws = await until_entries(watcher, view, 3)
    assert raws == [bytes((DOWN_PROMOTE, 1, 2)), bytes((DOWN_PROMOTE, 3, 1))]
    assert view.tentatives == {}
    assert sorted(view.view().elements) == ["s1", "s2"]
    assert [r[0] for r in await board_rows(board)] == [1, 2, 3]
    # Each author is acknowledged by its own commit.
    assert await first.expect_acked(2) == [(1, 1), (2, 2)]
    assert await second.expect_acked(1) == [(1, 3)]
    for client in (first, second, watcher):
        await client.close()


async def test_a_failed_commit_drops_both_batches_and_their_resends_are_promoted(
    memory_layer, connect, board, user, monkeypatch
):
    release = threading.Event()
    commit = store.commit_tick
    calls = 0

    def first_fails(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            release.wait(10)
            raise RuntimeError("simulated outage")
        return commit(*args)

    monkeypatch.setattr(store, "commit_tick", first_fails)
    first = await synced(await connect(board, user, version=2))
    second = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    view = TentativeView(watcher.hello.client_id)
    await first.send_ops([stroke(1, "s1")])
    feed(view, await watcher.expect(Tentative))
    await second.send_ops([append(1, "s1")])  # checked on top of the first author's stroke
    feed(view, await watcher.expect(Tentative))
    release.set()
    for author in (first, second):
        error = await author.expect(protocol.Error)
        assert (error.code, error.ids) == ("unavailable", [1])
    got = await op_frames(watcher, 0.5)
    assert [type(m) for m, _ in got] == [TentativeDrop, TentativeDrop]
    for msg, _ in got:
        feed(view, msg)
    assert view.tentatives == {} and view.view().elements == {}
    # The drops ended both batches on both sides: the resends are promoted again.
    await first.send_ops([stroke(1, "s1")])
    feed(view, await watcher.expect(Tentative))
    assert await until_entries(watcher, view, 1) == [bytes((DOWN_PROMOTE, 1, 1))]
    await second.send_ops([append(1, "s1")])
    feed(view, await watcher.expect(Tentative))
    assert await until_entries(watcher, view, 2) == [bytes((DOWN_PROMOTE, 2, 1))]
    assert view.tentatives == {}
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    assert [r[0] for r in await board_rows(board)] == [1, 2]
    for client in (first, second, watcher):
        await client.close()


async def test_a_stored_resend_in_the_first_batch_sends_both_batches_as_entries(
    memory_layer, connect, board, user, held_commit
):
    held_commit.set()
    author = await synced(await connect(board, user, version=2))
    other = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    view = TentativeView(watcher.hello.client_id)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await author.expect_acked(2)
    await until_entries(watcher, view, 2)
    held_commit.clear()
    # A resend of op 2 (stored already) with op 3; while that commit is held, another batch.
    await author.send_ops([append(2, "s1"), append(3, "s1")])
    feed(view, await watcher.expect(Tentative))
    await other.send_ops([stroke(1, "s2")])
    feed(view, await watcher.expect(Tentative))
    held_commit.set()
    got = await op_frames(watcher, 0.5)
    # The drop of the resend ends both batches: neither commit can be promoted.
    assert [type(m) for m, _ in got] == [TentativeDrop, protocol.OpsFrame, protocol.OpsFrame]
    assert all(raw[0] != DOWN_PROMOTE for _, raw in got)
    for msg, _ in got:
        feed(view, msg)
    assert view.tentatives == {} and view.applied == 4
    assert sorted(view.view().elements) == ["s1", "s2"]
    # In step again: the next batch is promoted.
    await other.send_ops([append(2, "s2")])
    feed(view, await watcher.expect(Tentative))
    assert await until_entries(watcher, view, 5) == [bytes((DOWN_PROMOTE, 5, 1))]
    for client in (author, other, watcher):
        await client.close()


async def test_a_socket_that_joined_between_two_batches_gets_entries_others_get_promotions(
    memory_layer, connect, board, user, held_commit
):
    first = await synced(await connect(board, user, version=2))
    second = await synced(await connect(board, user, version=2))
    early = await synced(await connect(board, user, query=COMPACT, version=2))
    early_view = TentativeView(early.hello.client_id)
    await first.send_ops([stroke(1, "s1"), append(2, "s1")])
    feed(early_view, await early.expect(Tentative))
    # Joins while the first commit is held: it never got the first DOWN_TENT.
    late = await synced(await connect(board, user, query=COMPACT, version=2))
    late_view = TentativeView(late.hello.client_id)
    await second.send_ops([stroke(1, "s2")])
    # The second batch goes out during the first commit, or (the late join's presence tick
    # took the overlap) after it: either way the late socket cannot promote the first.
    held_commit.set()
    early_raws = await until_entries(early, early_view, 3)
    assert early_raws == [bytes((DOWN_PROMOTE, 1, 2)), bytes((DOWN_PROMOTE, 3, 1))]
    late_raws = await until_entries(late, late_view, 3)
    assert late_raws[0][0] == 0x82  # the v1 `ops` frame, which leaves the handle table alone
    for view in (early_view, late_view):
        assert view.tentatives == {} and sorted(view.view().elements) == ["s1", "s2"]
    assert late_view.view().elements == early_view.view().elements
    for client in (first, second, early, late):
        await client.close()
