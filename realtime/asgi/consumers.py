"""
The board WebSocket consumer: a thin shell between the ASGI connection and the hub.

Admission already happened (realtime.asgi.middleware). The consumer accepts, hands decoded frames
to the hub and leaves on disconnect. Everything it sends goes through the peer's send queue, whose
writer calls the raw ASGI `send`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.engine import inbound
from realtime.engine.hub import Hub, get_hub
from realtime.engine.room import Peer
from realtime.server.direct import cork_socket, receive_directly
from realtime.wire.protocol import CloseCode

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BoardConsumer:
    """
    One board socket: a plain loop over the connection's messages, not a Channels consumer.

    No per-socket layer channel: the hub owns ONE channel for the whole process, so a socket
    costs no Redis subscription and fan-out costs one layer message per tick, not per socket.
    Channels' AsyncConsumer would only cost here: its await_many_dispatch a new receive task and
    an asyncio.wait per message (~half of the consumer's per-frame time in py-spy), its dispatch()
    an `aclose_old_connections()` thread hop per frame, though no frame touches the ORM
    (admission used its own thread once; the hub's threads manage their connections).
    """

    hub: Hub
    peer: Peer | None = None

    async def run(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """
        Read the socket's messages and hand each to its handler, until it disconnects.
        """
        self.scope, self.base_send = scope, send
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                self.websocket_receive(message)
            elif kind == "websocket.connect":
                await self.websocket_connect(message)
            elif kind == "websocket.disconnect":
                self.websocket_disconnect(message)
                return
            else:
                raise ValueError(f"No handler for message type {kind!r}")

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.hub = get_hub()
        # The 101 waits for hello (and a catch-up from memory, synced): one socket write. The
        # join releases it early if it has to wait for the board's load.
        release = cork_socket(self.base_send)
        try:
            await self.base_send({"type": "websocket.accept"})
            if self.hub.draining:
                await self.base_send({"type": "websocket.close", "code": CloseCode.SERVICE_RESTART})
                return
            info = self.scope["inkroom"]
            self.peer = await self.hub.join(info, self.base_send, info["since"])
        finally:
            release()
        # From here on, under Hypercorn, frames arrive in on_direct_message (no queue hop).
        receive_directly(self.base_send, self.on_direct_message)

    def on_direct_message(self, message: dict[str, Any]) -> None:
        """
        A frame handed over by the reading task (realtime.server.direct): what the loop would do
        with it.

        An exception here would end the reading task, so it closes this socket instead, as an
        exception in the receive loop would (1011).
        """
        try:
            self.websocket_receive(message)
        except Exception:
            logger.exception("handling a board socket frame failed")
            if self.peer is not None:
                self.peer.send_queue.close(CloseCode.INTERNAL_ERROR)

    def websocket_receive(self, message: dict[str, Any]) -> None:
        peer = self.peer
        # Once draining, frames are dropped unread (protocol §7, 1012): accepting ops would keep
        # the final flush chasing new ones; they stay in the client's outbox and are resent.
        if peer is None or peer.send_queue.closed or self.hub.draining:
            return
        data = message.get("bytes")
        if data is not None:
            inbound.on_binary(self.hub, peer, data)
        else:
            inbound.on_text(self.hub, peer, message.get("text") or "")

    def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.peer is not None:
            self.hub.leave(self.peer)
            self.peer.send_queue.cancel()
