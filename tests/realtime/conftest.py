"""
Fixtures shared by the realtime tests: real server processes (tests/realtime/servers.py), and for
the in-process engine tests the ASGI app, channel layers (in-memory and real Redis), socket
clients speaking protocol v1 or v2 over channels' WebsocketCommunicator, and hub cleanup.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgpack
import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from board.access import issue_socket_ticket
from realtime.asgi.routing import build_application
from realtime.engine.drain import PROCESS_DRAIN
from realtime.engine.hub import get_hub
from realtime.wire import compact, protocol
from tests.realtime.servers import server_env_fixture, start_inkroom_fixture

# Re-exported so every realtime test can use the real-server fixtures (named server_env and
# start_inkroom through their `name=`).
__all__ = ["server_env_fixture", "start_inkroom_fixture"]

#: How long a test waits for one frame before calling the server silent.
RECV_TIMEOUT_SECS = 3.0

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX", "inkroom-rt")

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": PREFIX, "capacity": 1000, "expiry": 10},
    }
}


def flush_prefix() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def fast_password_hashing(request: pytest.FixtureRequest) -> None:
    """
    Users are created in nearly every in-process test here; PBKDF2 would cost about a second
    each. Not for tests with real server processes: those verify passwords with the defaults.
    """
    if {"start_inkroom", "server_env"} & set(request.fixturenames):
        return
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.requires_redis)])
def layer(request: pytest.FixtureRequest) -> Any:
    """
    Run the test once on the in-memory layer and once on the real Redis layer.
    """
    if request.param == "redis":
        flush_prefix()
    with override_settings(
        CHANNEL_LAYERS=REDIS_LAYER if request.param == "redis" else MEMORY_LAYER
    ):
        yield request.param
    if request.param == "redis":
        flush_prefix()


@pytest.fixture
def memory_layer() -> Any:
    with override_settings(CHANNEL_LAYERS=MEMORY_LAYER):
        yield "memory"


@pytest.fixture
def app() -> Any:
    from django.core.asgi import get_asgi_application

    return build_application(get_asgi_application())


@pytest.fixture
async def hub_cleanup(transactional_db: Any) -> AsyncIterator[None]:
    """
    Close the test loop's hub (tasks, group membership, thread DB connections) afterwards, and
    end a drain the test began (the flag is the process's).
    """
    yield
    hub = get_hub()
    await hub.close()
    PROCESS_DRAIN.clear()
    # database_sync_to_async (admission) keeps a connection in asgiref's shared thread; close it
    # or the test database cannot be dropped at the end of the session.
    await sync_to_async(connections.close_all)()


class Defs:
    """
    A v2 `DEFS` or `CONT` frame, already applied to the client's names or continuations.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data


class Client:
    """
    A protocol v1 or v2 client over WebsocketCommunicator, for tests. v2 `DOWN_OPS` frames are
    returned as the OpsFrame they stand for, with `last_raw` the bytes received.
    """

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.hello: protocol.Hello | None = None
        self.close_code: int | None = None
        #: v2 handle → name, fed by DEFS and DOWN_OPS frames, and author continuations (CONT).
        self.names: dict[int, str] = {}
        self.conts: compact.Conts = {}
        self.last_raw: bytes = b""

    def decode_binary(self, data: bytes) -> Any:
        self.last_raw = data
        if data[:1] == bytes((compact.DOWN_DEFS,)):
            compact.decode_defs(data, self.names, self.conts)
            return Defs(data)
        if data[:1] == bytes((compact.DOWN_CONT,)):
            compact.decode_cont(data, self.conts)
            return Defs(data)
        if data[:1] == bytes((compact.DOWN_OPS,)):
            _, entries = compact.decode_down_ops(data, self.names, conts=self.conts)
            ops = [e if isinstance(e, dict) else msgpack.unpackb(e) for e in entries]
            return protocol.OpsFrame(ops=ops)
        return protocol.decode_server_binary(data)

    async def recv(self, timeout: float = RECV_TIMEOUT_SECS) -> Any:
        """
        The next frame, decoded; raises AssertionError on close.
        """
        message = await self.comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code")
            raise AssertionError(f"socket closed with {self.close_code}")
        if message.get("bytes") is not None:
            return self.decode_binary(message["bytes"])
        return protocol.decode_server_text(message["text"])

    async def recv_raw(self, timeout: float = RECV_TIMEOUT_SECS) -> dict[str, Any]:
        return await self.comm.receive_output(timeout)

    async def expect(self, kind: type, timeout: float = RECV_TIMEOUT_SECS) -> Any:
        """
        Skip frames until one of type `kind` arrives (presence/cursors are interleaved).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            if isinstance(msg, kind):
                return msg

    async def expect_acked(
        self, count: int, timeout: float = RECV_TIMEOUT_SECS
    ) -> list[tuple[int, int]]:
        """
        Read frames until `count` of our ops are acknowledged; return their (i, seq) in order.

        New ops are acknowledged by our own entries (`c` == our client_id) in `ops` frames,
        resends of stored ops and ops committed while catching up by `ack` frames (§2.2).
        """
        assert self.hello is not None, "expect_acked needs the hello (our client_id)"
        acked: dict[int, int] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(acked) < count:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            if isinstance(msg, protocol.Ack):
                acked.update(msg.a)
            elif isinstance(msg, protocol.OpsFrame):
                mine = [e for e in msg.ops if e["c"] == self.hello.client_id]
                acked.update((e["i"], e["s"]) for e in mine)
        return sorted(acked.items(), key=lambda pair: pair[1])

    async def expect_close(self, timeout: float = RECV_TIMEOUT_SECS) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.comm.receive_output(max(0.01, deadline - loop.time()))
            if message["type"] == "websocket.close":
                self.close_code = message.get("code")
                return self.close_code

    async def sync(self) -> tuple[list[Any], protocol.Synced]:
        """
        Read the catch-up after hello: returns (snap/ops frames, synced).
        """
        frames: list[Any] = []
        while True:
            msg = await self.recv()
            if isinstance(msg, protocol.Synced):
                return frames, msg
            if isinstance(msg, protocol.Snap | protocol.OpsFrame):
                frames.append(msg)

    async def send_ops(self, ops: list[dict[str, Any]]) -> None:
        await self.comm.send_to(bytes_data=msgpack.packb({"t": "ops", "ops": ops}))

    async def send_up_app(self, i: int, p: list[int], pr: list[int] | None = None) -> None:
        await self.comm.send_to(bytes_data=compact.encode_up_app(i, p, pr))

    async def send_up_next(self, p: list[int]) -> None:
        await self.comm.send_to(bytes_data=compact.encode_up_next(p))

    async def send_text(self, message: Any) -> None:
        await self.comm.send_to(text_data=protocol.encode(message))  # type: ignore[arg-type]

    async def close(self) -> None:
        await self.comm.disconnect()


ConnectFn = Callable[..., Any]


@pytest.fixture
def connect(app: Any, hub_cleanup: None) -> ConnectFn:
    """
    Open a socket on a board as `user` (ticket auth) and read `hello` (unless expecting a close).
    """

    async def open_socket(
        board: Any,
        user: Any = None,
        *,
        since: int = 0,
        client_id: str | None = None,
        query: str = "",
        headers: list[tuple[bytes, bytes]] | None = None,
        expect_hello: bool = True,
        application: Any = None,
        version: int = 1,
    ) -> Client:
        parts = [f"v={version}&since={since}"]
        if client_id:
            parts.append(f"client_id={client_id}")
        if user is not None:
            ticket = await sync_to_async(issue_socket_ticket)(user_id=user.pk, board_id=board.id)
            parts.append(f"token={ticket}")
        if query:
            parts.append(query)
        path = f"/ws/boards/{board.id}/?{'&'.join(parts)}"
        comm = WebsocketCommunicator(application or app, path, headers=headers or [])
        connected, _ = await comm.connect(timeout=RECV_TIMEOUT_SECS)
        assert connected
        client = Client(comm)
        if expect_hello:
            client.hello = await client.expect(protocol.Hello)
        return client

    return open_socket


def stroke(i: int, el_id: str, x: int = 10) -> dict[str, Any]:
    """
    An `add` op of a small stroke.
    """
    return {
        "i": i,
        "k": "add",
        "el": {
            "id": el_id,
            "type": "stroke",
            "x": x,
            "y": 20,
            "style": {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None},
            "p": [0, 0, 3, 1],
        },
    }


def append(i: int, el_id: str) -> dict[str, Any]:
    """
    An `app` op adding two points to stroke `el_id`.
    """
    return {"i": i, "k": "app", "id": el_id, "p": [1, 1, 2, 2]}


async def board_rows(board: Any) -> list[tuple[int, str, int]]:
    """
    (seq, client_id, client op id) of every stored op of the board.
    """
    from board.models import Op

    query = Op.objects.filter(board_id=board.id).order_by("seq")
    return await sync_to_async(list)(query.values_list("seq", "client_id", "client_op_id"))


async def collect_ops(client: Client, upto: int, timeout: float = RECV_TIMEOUT_SECS) -> list[int]:
    """
    Read frames until an `ops` frame reaches seq `upto`; return every seq received, in order.
    """
    seqs: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not seqs or seqs[-1] < upto:
        msg = await client.recv(max(0.01, deadline - loop.time()))
        if isinstance(msg, protocol.OpsFrame):
            seqs.extend(e["s"] for e in msg.ops)
    return seqs
