"""
The ASGI application: Django for HTTP, the board socket stack for WebSockets.

The socket stack is one call, not a chain of ASGI wrappers: origin check (realtime.asgi.origin:
scheme, host and port; HTTP 403 before the handshake for a foreign Origin), the path
`/ws/boards/<board id>/` (any other path: HTTP 404 before the handshake), admission
(realtime.asgi.middleware), the consumer. Channels' ProtocolTypeRouter and URLRouter did the
same with a Django RoutePattern, a copied scope and two more awaits per socket, a sizeable share of
a join during a reconnect storm (docs/performance.md §3.11); and an unknown path raised there,
which Hypercorn logged and answered with HTTP 500.
"""

from __future__ import annotations

import re
from typing import Any

from realtime.asgi.consumers import BoardConsumer
from realtime.asgi.middleware import admit_socket
from realtime.asgi.origin import origin_allowed, refuse_handshake

Scope = dict[str, Any]

#: What Django's `path("ws/boards/<str:board_id>/")` matched, as Channels' URLRouter matched it
#: (leading slashes stripped): the id is any non-empty segment; admission checks it.
_BOARD_PATH = re.compile(r"/*ws/boards/([^/]+)/\Z")


def board_id_of(scope: Scope) -> str | None:
    """
    The board id of a socket's path (below the scope's root_path), or None for any other path.
    """
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if root_path:
        if not path.startswith(root_path):
            return None
        path = path[len(root_path) :]
    match = _BOARD_PATH.match(path)
    return None if match is None else match.group(1)


async def board_socket(scope: Scope, receive: Any, send: Any) -> None:
    """
    One WebSocket connection: origin, path, admission, then the consumer until it ends.
    """
    if not origin_allowed(scope):
        await refuse_handshake(receive, send)
        return
    board_id = board_id_of(scope)
    if board_id is None:
        await _not_found(scope, receive, send)
        return
    await admit_socket(scope, board_id, receive, send, BoardConsumer().run)


async def _not_found(scope: Scope, receive: Any, send: Any) -> None:
    """
    Refuse the upgrade with HTTP 404 (where the server offers ASGI's WebSocket denial response;
    otherwise a refused upgrade, 403).
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close"})
        return
    body = b"Not found\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


class Application:
    """
    The project's ASGI application: `http` to Django (as wrapped by config.asgi), `websocket` to
    the board sockets. Lifespan is answered in front of it (realtime.server.gate).
    """

    def __init__(self, django_asgi_app: Any) -> None:
        self.http = django_asgi_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await board_socket(scope, receive, send)
        elif kind == "http":
            await self.http(scope, receive, send)
        else:
            raise ValueError(f"no application for ASGI scope type {kind!r}")


def build_application(django_asgi_app: Any) -> Application:
    """
    The project's ASGI application (config.asgi).
    """
    return Application(django_asgi_app)
