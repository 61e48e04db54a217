"""
The board WebSocket consumer: a thin shell between the ASGI connection and the hub.

Admission already happened (realtime.middleware). The consumer accepts, hands decoded frames to
the hub and leaves on disconnect. Everything it sends goes through the peer's outbox, whose writer
calls the raw ASGI `send`.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer

from realtime import inbound
from realtime.hub import Hub, get_hub
from realtime.protocol import CloseCode
from realtime.room import Peer

logger = logging.getLogger(__name__)


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

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Overridden to skip Channels >= 4.2's `aclose_old_connections()` before every message: it
        # is a thread hop (~0.2 ms, one shared thread) per frame, and this consumer never touches
        # the ORM per frame. Admission used database_sync_to_async once; the hub's threads manage
        # their own connections (close_old_connections before each batch).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']!r}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.hub = get_hub()
        await self.base_send({"type": "websocket.accept"})
        if self.hub.draining:
            await self.base_send({"type": "websocket.close", "code": CloseCode.SERVICE_RESTART})
            return
        info = self.scope["inkroom"]
        self.peer = await self.hub.join(info, self.base_send, info["since"])

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        peer = self.peer
        # Once draining, frames are dropped unread (protocol §7, 1012): accepting ops would keep
        # the final flush chasing new ones; they stay in the client's outbox and are resent.
        if peer is None or peer.outbox.closed or self.hub.draining:
            return
        data = message.get("bytes")
        if data is not None:
            inbound.on_binary(self.hub, peer, data)
        else:
            inbound.on_text(self.hub, peer, message.get("text") or "")

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.peer is not None:
            self.hub.leave(self.peer)
            self.peer.outbox.cancel()
        raise StopConsumer()
