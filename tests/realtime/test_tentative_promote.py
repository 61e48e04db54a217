"""
Compact tentatives (protocol §2.6, `tentative=2` on v2): others' ops come as DOWN_TENT frames
with the connection's handle table, and their commit, when it stored exactly that batch, as a
DOWN_PROMOTE of two varints; anything else falls back to frames of entries, and nothing a client
holds outlives a commit that did not store it.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from realtime.engine import store
from realtime.wire import protocol
from realtime.wire.compact import DOWN_OPS, DOWN_PROMOTE, DOWN_TENT
from realtime.wire.tentative import Tentative, TentativeDrop
from tests.realtime.test_tentative import feed, frames_for, held_commit, synced
from tests.support.ops import append, stroke
from tests.support.sockets import Client
from tests.support.store import board_rows
from tests.support.tentative import TentativeView

pytestmark = pytest.mark.django_db(transaction=True)

COMPACT = "tentative=2"
__all__ = ["held_commit"]  # the fixture, used by name


def appends(first: int, n: int, el: str) -> list[dict[str, Any]]:
    return [append(i, el) for i in range(first, first + n)]


async def received(client: Client, kind: type) -> tuple[Any, bytes]:
    msg = await client.expect(kind)
    return msg, client.last_raw


async def test_a_committed_batch_reaches_opted_in_sockets_as_a_promotion(
    memory_layer, connect, board, user, held_commit
):
    author = await synced(await connect(board, user, query=COMPACT, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    plain = await synced(await connect(board, user, version=2))
    await author.send_ops([stroke(1, "s1"), *appends(2, 3, "s1")])
    tent, raw = await received(watcher, Tentative)
    assert raw[0] == DOWN_TENT
    c = author.hello.client_id
    assert [(op["c"], op["i"], op["k"]) for op in tent.ops] == [
        (c, 1, "add"),
        (c, 2, "app"),
        (c, 3, "app"),
        (c, 4, "app"),
    ]
    view = TentativeView(watcher.hello.client_id)
    feed(view, tent)
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]
    # The author is sent the batch too (its handles and its promotion), and skips its own ops.
    own, raw_own = await received(author, Tentative)
    assert raw_own == raw and own.ops == tent.ops
    assert await board_rows(board) == []
    held_commit.set()
    promoted, raw = await received(watcher, protocol.OpsFrame)
    assert raw == bytes((DOWN_PROMOTE, 1, 4))
    assert [(e["s"], e["c"], e["i"]) for e in promoted.ops] == [
        (1, c, 1),
        (2, c, 2),
        (3, c, 3),
        (4, c, 4),
    ]
    feed(view, promoted)
    assert view.tentatives == {} and view.applied == 4
    # The promotion acknowledges the author's ops, like the entries it stands for.
    assert await author.expect_acked(4) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert author.last_raw == bytes((DOWN_PROMOTE, 1, 4))
    # Same entries as a socket that did not opt in got, less `u` (§2.5, compact entries).
    committed = await plain.expect(protocol.OpsFrame)
    assert [{k: v for k, v in e.items() if k != "u"} for e in committed.ops] == promoted.ops
    for client in (author, watcher, plain):
        await client.close()


async def test_a_stroke_costs_its_points_once_down_the_wire(memory_layer, connect, board, user):
    author = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    old = await synced(await connect(board, user, query="tentative=1", version=2))
    plain = await synced(await connect(board, user, version=2))
    await author.send_ops([stroke(1, "s1")])
    await author.expect_acked(1)
    n = 40
    for i in range(2, 2 + n):
        if i == 2:
            await author.send_up_app(i, [1, 1, 2, 2])
        else:
            await author.send_up_next([1, 1, 2, 2])
        await author.expect_acked(1)

    async def down_bytes(client: Client) -> int:
        total = 0
        applied = 1
        while applied < 1 + n:
            msg = await client.recv()
            if isinstance(msg, Tentative | protocol.OpsFrame):
                total += len(client.last_raw)
            if isinstance(msg, protocol.OpsFrame) and msg.ops:
                applied = max(applied, msg.ops[-1]["s"])
        return total

    compact, v1_tent, entries = [await down_bytes(c) for c in (watcher, old, plain)]
    points = 2 * n
    print(f"down bytes for {points} points: compact {compact}, tent {v1_tent}, v2 {entries}")
    # The plain v2 socket's entries alone are ~2-3 bytes per point; the compact tentatives and
    # their promotions together stay within a byte or two per point of that, where `tent`
    # frames plus entries cost several times as much.
    assert compact <= entries + 2 * points, (compact, entries)
    assert v1_tent > 2 * compact, (v1_tent, compact)
    for client in (author, watcher, old, plain):
        await client.close()


async def test_a_socket_live_after_the_batch_gets_the_entries_in_full(
    memory_layer, connect, board, user, held_commit
):
    author = await synced(await connect(board, user, version=2))
    early = await synced(await connect(board, user, query=COMPACT, version=2))
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await early.expect(Tentative)
    # Joins while the batch is being committed: it never got the DOWN_TENT, so it cannot
    # promote; it gets the v1 `ops` frame, which leaves the shared handle table as it is.
    late = await synced(await connect(board, user, query=COMPACT, version=2))
    held_commit.set()
    got, raw = await received(late, protocol.OpsFrame)
    assert msgpack.unpackb(raw)["t"] == "ops"
    assert [e["s"] for e in got.ops] == [1, 2]
    _, raw = await received(early, protocol.OpsFrame)
    assert raw[0] == DOWN_PROMOTE
    # Both read what follows with the same table: the next batch is a DOWN_TENT to each.
    await author.send_ops([append(3, "s1")])
    for client in (early, late):
        tent, raw = await received(client, Tentative)
        assert raw[0] == DOWN_TENT and [op["i"] for op in tent.ops] == [3]
        promoted = await client.expect(protocol.OpsFrame)
        assert [(e["s"], e["i"], e["id"]) for e in promoted.ops] == [(3, 3, "s1")]
    for client in (author, early, late):
        await client.close()


async def test_a_failed_commit_is_dropped_and_its_resend_promoted(
    memory_layer, connect, board, user, monkeypatch
):
    author = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    view = TentativeView(watcher.hello.client_id)
    commit = store.commit_tick

    def refused(*args: Any) -> Any:
        raise RuntimeError("simulated outage")

    monkeypatch.setattr(store, "commit_tick", refused)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    feed(view, await watcher.expect(Tentative))
    assert "s1" in view.view().elements
    drop = await watcher.expect(TentativeDrop)
    feed(view, drop)
    assert view.tentatives == {} and view.view().elements == {}
    assert not [m for m in await frames_for(watcher, 0.3) if isinstance(m, protocol.OpsFrame)]
    monkeypatch.setattr(store, "commit_tick", commit)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    feed(view, await watcher.expect(Tentative))
    promoted = await watcher.expect(protocol.OpsFrame)
    assert watcher.last_raw == bytes((DOWN_PROMOTE, 1, 2))
    feed(view, promoted)
    assert view.tentatives == {} and view.applied == 2
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    await author.close()
    await watcher.close()


async def test_a_batch_with_a_stored_resend_falls_back_to_entries(
    memory_layer, connect, board, user
):
    author = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    view = TentativeView(watcher.hello.client_id)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await author.expect_acked(2)
    while view.applied < 2:
        feed(view, await watcher.recv())
    # A resend of op 2 (stored already) with a new op 3: the log stores only op 3, so the
    # batch is not what was committed. The resend is dropped, op 3 comes as an entry.
    await author.send_ops([append(2, "s1"), append(3, "s1")])
    await author.expect_acked(2)
    got = [m for m in await frames_for(watcher, 0.5) if not isinstance(m, protocol.Presence)]
    assert [type(m) for m in got] == [Tentative, TentativeDrop, protocol.OpsFrame]
    assert watcher.last_raw[0] == DOWN_OPS
    for msg in got:
        feed(view, msg)
    assert view.tentatives == {} and view.applied == 3
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2, 1, 1, 2, 2]
    # The table stayed in step: the next batch is promoted again.
    await author.send_ops([append(4, "s1")])
    assert [op["i"] for op in (await watcher.expect(Tentative)).ops] == [4]
    promoted = await watcher.expect(protocol.OpsFrame)
    assert watcher.last_raw == bytes((DOWN_PROMOTE, 4, 1))
    assert [(e["s"], e["i"]) for e in promoted.ops] == [(4, 4)]
    await author.close()
    await watcher.close()


@pytest.mark.parametrize("how", ["reconnect", "resync"])
async def test_a_batch_held_across_a_reconnect_or_resync_is_never_promoted(
    memory_layer, connect, board, user, held_commit, how
):
    author = await synced(await connect(board, user, version=2))
    watcher = await synced(await connect(board, user, query=COMPACT, version=2))
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await watcher.expect(Tentative)
    if how == "reconnect":
        client_id = watcher.hello.client_id
        await watcher.close()
        watcher = await connect(board, user, query=COMPACT, version=2, client_id=client_id)
    else:
        watcher.session.entries_came()  # the client drops its batch as it sends the resync
        await watcher.send_text(protocol.ClientResync(from_seq=0))
    await watcher.expect(protocol.Synced)
    held_commit.set()
    got = await watcher.expect(protocol.OpsFrame)
    assert watcher.last_raw[0] != DOWN_PROMOTE
    assert [e["s"] for e in got.ops] == [1, 2]
    assert watcher.session.batch is None
    await author.close()
    await watcher.close()


async def test_a_v1_socket_asking_for_compact_tentatives_gets_tent_frames(
    memory_layer, connect, board, user
):
    author = await synced(await connect(board, user))
    watcher = await synced(await connect(board, user, query=COMPACT))
    await author.send_ops([stroke(1, "s1")])
    tent, raw = await received(watcher, Tentative)
    assert msgpack.unpackb(raw)["t"] == "tent" and [op["i"] for op in tent.ops] == [1]
    committed, raw = await received(watcher, protocol.OpsFrame)
    assert msgpack.unpackb(raw)["t"] == "ops" and [e["s"] for e in committed.ops] == [1]
    await author.close()
    await watcher.close()


def test_the_query_asks_for_compact_tentatives_with_the_value_2() -> None:
    from realtime.asgi.admission.handshake import query_params, wants_tentatives

    def asks(query: bytes) -> int:
        return wants_tentatives(query_params({"query_string": query}))

    assert asks(b"v=2&tentative=2") == 2
    assert asks(b"v=2&tentative=1") == 1
    assert asks(b"v=2&tentative=3") == 0
