"""
In-process socket clients: protocol v1 or v2 over channels' WebsocketCommunicator, for the engine
tests that run the ASGI app in the test's own event loop (the `connect` fixture of
tests/realtime/conftest.py opens them). Clients over real sockets to real servers are in
tests/support/wsclient.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgpack
from channels.testing import WebsocketCommunicator

from realtime.wire import protocol
from realtime.wire.tentative import Tentative
from tests.support import refclient

#: How long a test waits for one frame before calling the server silent.
RECV_TIMEOUT_SECS = 3.0

#: The `connect` fixture: (board, user=None, *, since, client_id, query, headers, expect_hello,
#: application, version) -> Client.
ConnectFn = Callable[..., Any]


class Defs:
    """
    A v2 `DEFS` or `CONT` frame, already applied to the client's names or continuations (or a
    DOWN_PROMOTE ignored: no batch held).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data


class Client:
    """
    A protocol v1 or v2 client over WebsocketCommunicator, for tests. v2 `DOWN_OPS` frames are
    returned as the OpsFrame they stand for (DOWN_PROMOTE too), DOWN_TENT as a Tentative, with
    `last_raw` the bytes received.
    """

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.hello: protocol.Hello | None = None
        self.close_code: int | None = None
        #: v2 handles and author continuations, fed by DEFS, CONT and DOWN_OPS frames.
        self.session = refclient.RefSession()
        self.last_raw: bytes = b""

    def decode_binary(self, data: bytes) -> Any:
        self.last_raw = data
        if data[:1] and data[0] in refclient.DOWN_FRAMES:
            entries = self.session.decode(data)
            if entries is None:
                return Defs(data)
            if isinstance(entries, Tentative):
                return entries
            ops = [e if isinstance(e, dict) else msgpack.unpackb(e) for e in entries]
            return protocol.OpsFrame(ops=ops)
        msg = refclient.decode_server_binary(data)
        if isinstance(msg, protocol.OpsFrame | protocol.Snap):
            self.session.entries_came()
        return msg

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
        return refclient.decode_server_text(message["text"])

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
        await self.comm.send_to(bytes_data=refclient.encode_up_app(i, p, pr))

    async def send_up_next(self, p: list[int]) -> None:
        await self.comm.send_to(bytes_data=refclient.encode_up_next(p))

    async def send_text(self, message: Any) -> None:
        await self.comm.send_to(text_data=protocol.encode(message))  # type: ignore[arg-type]

    async def close(self) -> None:
        await self.comm.disconnect()


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
