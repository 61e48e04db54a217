"""
Tentative delivery (protocol §2.6): opted-in sockets see others' ops once the board has checked
them, before the commit; nothing they are shown outlives a commit that did not store it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from realtime.engine import store
from realtime.wire import protocol
from realtime.wire.tentative import Tentative, TentativeDrop
from tests.support.ops import append, stroke
from tests.support.sockets import Client
from tests.support.store import board_rows
from tests.support.tentative import TentativeView

pytestmark = pytest.mark.django_db(transaction=True)

TENTATIVE = "tentative=1"


@pytest.fixture
def held_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """
    Commits wait in the writer thread until the test sets the event (set at teardown anyway).
    """
    release = threading.Event()
    commit = store.commit_tick

    def held(*args: Any) -> Any:
        release.wait(10)
        return commit(*args)

    monkeypatch.setattr(store, "commit_tick", held)
    yield release
    release.set()


async def frames_for(client: Client, secs: float) -> list[Any]:
    """
    Every frame the client gets within `secs` (receive_nothing: a timed-out receive_output would
    cancel the application).
    """
    got: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + secs
    while loop.time() < deadline:
        if not await client.comm.receive_nothing(0.05):
            got.append(await client.recv())
    return got


def feed(view: TentativeView, msg: Any) -> None:
    """
    Hand one decoded server frame to the client's view, as a client does.
    """
    if isinstance(msg, protocol.OpsFrame):
        view.on_entries(msg.ops)
    elif isinstance(msg, Tentative):
        view.on_tentative(msg.ops)
    elif isinstance(msg, TentativeDrop):
        view.on_drop(msg.ops)
    elif isinstance(msg, protocol.Ack):
        view.on_ack(msg.a)


async def synced(client: Client) -> Client:
    await client.sync()
    return client


@pytest.mark.parametrize("version", [1, 2])
async def test_an_opted_in_socket_sees_the_op_before_its_author_is_acknowledged(
    memory_layer, connect, board, user, held_commit, version
):
    author = await synced(await connect(board, user, query=TENTATIVE))
    watcher = await synced(await connect(board, user, query=TENTATIVE, version=version))
    plain = await synced(await connect(board, user, version=version))
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    tent = await watcher.expect(Tentative)
    c = author.hello.client_id
    assert [(op["c"], op["i"], op["k"]) for op in tent.ops] == [(c, 1, "add"), (c, 2, "app")]
    assert all("s" not in op for op in tent.ops)
    view = TentativeView(watcher.hello.client_id)
    feed(view, tent)
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    # The commit has not happened: the author has no ack, the socket that did not opt in has
    # nothing new, and the author is not sent its own ops as tentatives.
    for client in (author, plain):
        got = await frames_for(client, 0.3)
        assert not [m for m in got if isinstance(m, protocol.OpsFrame | protocol.Ack)]
        assert not [m for m in got if isinstance(m, Tentative)]
    assert await board_rows(board) == []
    held_commit.set()
    assert await author.expect_acked(2) == [(1, 1), (2, 2)]
    committed = await watcher.expect(protocol.OpsFrame)
    feed(view, committed)
    assert view.tentatives == {}
    assert view.applied == 2 and view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    assert [e["s"] for e in (await plain.expect(protocol.OpsFrame)).ops] == [1, 2]
    for client in (author, watcher, plain):
        await client.close()


async def test_ops_of_a_failed_commit_are_dropped_by_every_opted_in_socket(
    memory_layer, connect, board, user, monkeypatch
):
    author = await synced(await connect(board, user))
    watcher = await synced(await connect(board, user, query=TENTATIVE))
    commit = store.commit_tick

    def refused(*args: Any) -> Any:
        raise RuntimeError("simulated outage")

    monkeypatch.setattr(store, "commit_tick", refused)
    view = TentativeView(watcher.hello.client_id)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    feed(view, await watcher.expect(Tentative))
    assert "s1" in view.view().elements
    error = await author.expect(protocol.Error)
    assert (error.code, error.ids) == ("unavailable", [1, 2])
    drop = await watcher.expect(TentativeDrop)
    c = author.hello.client_id
    assert drop.ops == [(c, 1), (c, 2)]
    feed(view, drop)
    assert view.tentatives == {} and view.view().elements == {}
    assert await board_rows(board) == []
    # The author resends its outbox once the database is back: offered, then committed.
    monkeypatch.setattr(store, "commit_tick", commit)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await author.expect_acked(2)
    for msg in await frames_for(watcher, 0.5):
        feed(view, msg)
    assert view.tentatives == {} and view.applied == 2
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    await author.close()
    await watcher.close()


async def test_a_resend_of_a_stored_op_offered_again_is_dropped_not_drawn_twice(
    memory_layer, connect, board, user
):
    author = await synced(await connect(board, user))
    watcher = await synced(await connect(board, user, query=TENTATIVE))
    view = TentativeView(watcher.hello.client_id)
    await author.send_ops([stroke(1, "s1"), append(2, "s1")])
    await author.expect_acked(2)
    while view.applied < 2:
        feed(view, await watcher.recv())
    # The ack was lost (say): the author resends op 2, which the state accepts again (an
    # append always applies) and the log then finds stored.
    await author.send_ops([append(2, "s1")])
    assert await author.expect_acked(1) == [(2, 2)]
    got = await frames_for(watcher, 0.5)
    assert [type(m) for m in got if not isinstance(m, protocol.Presence)] == [
        Tentative,
        TentativeDrop,
    ]
    for msg in got:
        feed(view, msg)
    assert view.tentatives == {}
    assert view.view().elements["s1"]["p"] == [0, 0, 3, 1, 1, 1, 2, 2]
    assert [r[0] for r in await board_rows(board)] == [1, 2]
    await author.close()
    await watcher.close()


async def test_the_query_asks_for_tentatives_only_with_the_value_1() -> None:
    from realtime.asgi.admission.handshake import query_params, wants_tentatives

    def asks(query: bytes) -> int:
        return wants_tentatives(query_params({"query_string": query}))

    assert asks(b"v=2&tentative=1")
    assert asks(b"v=2&tentative=0&tentative=1")
    assert not asks(b"v=2&tentative=0")
    assert not asks(b"v=2&tentative=yes")
    assert not asks(b"v=2")
