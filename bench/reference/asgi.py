"""
The Channels-docs reference server: a consumer that group_sends every frame it receives.

This is the chat example of the Channels tutorial applied to a board: every incoming frame
becomes one channel-layer group message, and each member's group handler sends it on. Nothing
is batched, persisted or sequenced: it is the baseline Inkroom's figures are divided by.
Run: DJANGO_SETTINGS_MODULE=bench.reference.settings hypercorn bench.reference.asgi:application
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")

import django

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BoardRelayConsumer(AsyncWebsocketConsumer):
    """
    Joins the board's group on connect and relays every frame to the group.
    """

    async def connect(self) -> None:
        self.group = "board." + self.scope["url_route"]["kwargs"]["board"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "board.frame", "text": text_data, "bytes": bytes_data}
        )

    async def board_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"], bytes_data=event["bytes"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/boards/<str:board>/", BoardRelayConsumer.as_asgi())])}
)
