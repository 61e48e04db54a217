"""
The ASGI application: Django for HTTP, the board socket stack for WebSockets.

WebSocket stack, outside in: origin check (realtime.asgi.origin: scheme, host and port; HTTP 403
before the handshake for a foreign Origin), URL routing, admission (realtime.asgi.middleware), the
consumer.
"""

from __future__ import annotations

from typing import Any

from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from realtime.asgi.consumers import BoardConsumer
from realtime.asgi.middleware import SocketAuthMiddleware
from realtime.asgi.origin import SocketOriginValidator

websocket_urlpatterns = [
    path(
        "ws/boards/<str:board_id>/",
        SocketAuthMiddleware(BoardConsumer.as_asgi()),  # type: ignore[arg-type]
    ),
]


def build_application(django_asgi_app: Any) -> Any:
    """
    The project's ASGI application (config.asgi).
    """
    return ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SocketOriginValidator(URLRouter(websocket_urlpatterns)),
        }
    )
