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
from urllib.parse import parse_qs

from channels.consumer import AsyncConsumer

from realtime.engine import inbound
from realtime.engine.hub import Hub, get_hub
from realtime.engine.room import Peer
from realtime.server.direct import receive_directly
from realtime.wire.protocol import CloseCode

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def wants_presence_deltas(query_string: bytes) -> bool:
    """
    True when the socket URL has `presence=delta` (protocol §1): the client applies
    `presence_delta` frames, so it gets those instead of whole `presence` lists.
    """
    return _last_value(query_string, "presence") == "delta"


def wants_tentatives(query_string: bytes) -> int:
    """
    The socket URL's `tentative` (protocol §1): 1 or 2 when the client keeps a tentative layer
    (§2.6), so it is sent others' ops as soon as the board has checked them (2: in compact frames,
    on a v2 socket); 0 for anything else.
    """
    value = _last_value(query_string, "tentative")
    return int(value) if value in ("1", "2") else 0


def _last_value(query_string: bytes, key: str) -> str | None:
    values = parse_qs(query_string.decode("latin-1")).get(key, [])
    return values[-1] if values else None


class BoardConsumer(AsyncConsumer):  # type: ignore[misc]
    """
    One board socket. AsyncConsumer rather than AsyncWebsocketConsumer: we need neither its
    group helpers nor its per-message wrappers, and we send pre-encoded frames.
    """

    # No per-socket layer channel: the hub owns ONE channel for the whole process, so a socket
    # costs no Redis subscription and fan-out costs one layer message per tick, not per socket.
    channel_layer_alias = None

    hub: Hub
    peer: Peer | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """
        Read the socket's messages in a plain loop and hand each to its handler.

        Replaces AsyncConsumer.__call__: with no layer channel to listen to, Channels'
        await_many_dispatch only costs (a new receive task and an asyncio.wait per message, ~half
        of the consumer's per-frame time in py-spy), and its dispatch() runs
        `aclose_old_connections()`, a thread hop per frame, though no frame touches the ORM here
        (admission used database_sync_to_async once; the hub's threads manage their connections).
        """
        self.scope, self.channel_layer, self.base_send = scope, None, send
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
        await self.base_send({"type": "websocket.accept"})
        if self.hub.draining:
            await self.base_send({"type": "websocket.close", "code": CloseCode.SERVICE_RESTART})
            return
        info = self.scope["inkroom"]
        query = self.scope.get("query_string", b"")
        info["presence_delta"] = wants_presence_deltas(query)
        info["tentative"] = wants_tentatives(query)
        self.peer = await self.hub.join(info, self.base_send, info["since"])
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
