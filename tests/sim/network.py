"""
Simulated sockets: one in-order, delayed pipe each way, and the server side of a connection.

The server side is the real consumer code (BoardConsumer.on_direct_message, what Hypercorn's
reading task calls) and the real SendQueue, whose frames go through `SimDirect` as they would go
to a Hypercorn transport: a text frame is encoded to UTF-8 when written, as wsframes does.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from realtime.asgi.consumers import BoardConsumer

if TYPE_CHECKING:
    from realtime.engine.hub import Hub
    from realtime.engine.room import Peer


class Pipe:
    """
    Hands items to `deliver` in push order, each after a random delay (FIFO kept).
    """

    def __init__(
        self, rng: random.Random, delay_max: float, deliver: Callable[[Any], None]
    ) -> None:
        self.rng, self.delay_max, self.deliver = rng, delay_max, deliver
        self._queue: deque[tuple[float, Any]] = deque()
        self._last = 0.0
        self.cut = False

    def push(self, item: Any) -> None:
        if self.cut:
            return
        loop = asyncio.get_running_loop()
        at = max(loop.time() + self.rng.uniform(0, self.delay_max), self._last)
        self._last = at
        self._queue.append((at, item))
        loop.call_at(at, self._release)

    def _release(self) -> None:
        now = asyncio.get_running_loop().time()
        while self._queue and self._queue[0][0] <= now and not self.cut:
            self.deliver(self._queue.popleft()[1])


class SimDirect:
    """
    What realtime.server.direct.DirectSocket offers the send queue, over a simulated connection.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def idle(self) -> bool:
        return True

    def write(self, message: bytes | str) -> None:
        if not self.conn.server_open:
            raise ConnectionResetError("the WebSocket is closed")
        if isinstance(message, str):
            message.encode()  # what framing does: a lone surrogate raises here, as in production
        self.conn.to_client.push(message)

    async def drain(self) -> None:
        return None

    def waiting(self) -> int | None:
        return None

    def acked(self) -> int | None:
        return None


class Connection:
    """
    One WebSocket between a simulated client and a hub.
    """

    def __init__(
        self,
        hub: Hub,
        rng: random.Random,
        delay_max: float,
        on_frame: Callable[[Connection, bytes | str], None],
        on_close: Callable[[Connection, int | None], None],
    ) -> None:
        self.hub = hub
        self.direct = SimDirect(self)
        self.server_open = True
        self.client_open = True
        self.consumer = BoardConsumer()
        self.consumer.hub = hub
        self.peer: Peer | None = None
        self._early: list[dict[str, Any]] = []
        self._on_frame, self._on_close = on_frame, on_close
        self.to_client = Pipe(rng, delay_max, self._to_client)
        self.to_server = Pipe(rng, delay_max, self._to_server)

    async def open(self, info: dict[str, Any]) -> None:
        """
        What BoardConsumer.websocket_connect does, with this connection's hub.
        """
        if self.hub.draining:
            await self.send({"type": "websocket.close", "code": 1012})
            return
        self.consumer.scope = {"inkroom": info}
        self.peer = await self.hub.join(info, self.send, info["since"])
        self.consumer.peer = self.peer
        for message in self._early:
            self.consumer.on_direct_message(message)
        self._early.clear()

    async def send(self, message: dict[str, Any]) -> None:
        """
        The ASGI `send` (the send queue closes through it; frames go through SimDirect).
        """
        if message["type"] == "websocket.close":
            if self.server_open:
                self.server_open = False
                self.to_client.push(("close", message.get("code")))
                asyncio.get_running_loop().call_soon(self._server_saw_disconnect)
        elif message["type"] == "websocket.send":
            self.direct.write(message.get("bytes") or message.get("text") or "")

    def _server_saw_disconnect(self) -> None:
        if self.consumer.peer is not None:
            self.consumer.websocket_disconnect({"type": "websocket.disconnect"})

    def _to_server(self, message: dict[str, Any]) -> None:
        if not self.server_open or getattr(self.hub, "dead", False):
            return
        if self.consumer.peer is None:
            self._early.append(message)
        else:
            self.consumer.on_direct_message(message)

    def _to_client(self, item: bytes | str | tuple[str, int | None]) -> None:
        if not self.client_open:
            return
        if isinstance(item, tuple):
            self.client_open = False
            self._on_close(self, item[1])
        else:
            self._on_frame(self, item)

    def client_send(self, frame: bytes | str) -> None:
        if not self.client_open:
            return
        key = "bytes" if isinstance(frame, bytes) else "text"
        self.to_server.push({"type": "websocket.receive", key: frame})

    def client_disconnect(self) -> None:
        """
        The client goes away: the server's consumer sees websocket.disconnect.
        """
        self.client_open = False
        self.to_client.cut = True
        if self.server_open:
            self.server_open = False
            self.to_server.cut = True
            asyncio.get_running_loop().call_soon(self._server_saw_disconnect)

    def process_died(self) -> None:
        """
        The server process is gone: the client sees an abnormal close (1006), after a delay.
        """
        self.server_open = False
        self.to_server.cut = True
        self.to_client.push(("close", None))
