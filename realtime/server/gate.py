"""
The ASGI wrapper in front of the app: new sockets refused with 1012 once draining, the probes
and /metrics answered before Django, and the ASGI lifespan.

Probes (/healthz, /readyz, /metrics) are answered here because kubelets and Prometheus address a
pod by its IP: Django would refuse that Host (ALLOWED_HOSTS, 400) and the pod would never become
ready. The same paths stay in the URLconf (realtime.server.urls) for the app without this wrapper
in front. The lifespan protocol is answered here too, so the inner router never sees a scope it
has no route for; the hub starts lazily on the first socket, is drained by serve's shutdown
trigger and closed at lifespan shutdown. The wrapper is outside the per-message path: each
connection costs one extra call. /metrics goes only to scrapers (realtime.server.views.
may_scrape), and the METRICS_PORT listener answers the probes and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from realtime.engine.drain import is_draining
from realtime.server.shutdown import close_hub
from realtime.wire.protocol import CloseCode

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DrainGate:
    """
    ASGI wrapper: refuses new WebSockets with 1012 once draining, answers the probes and the
    lifespan, and counts the HTTP requests in flight (serve waits for them before it stops).
    """

    def __init__(self, app: ASGIApp) -> None:
        from realtime.server.views import PROBE_PATHS

        self.app = app
        self.probe_paths = PROBE_PATHS
        self.http_in_flight = 0
        self._http_idle = asyncio.Event()
        self._http_idle.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _on_metrics_port(scope):
            await _metrics_listener(scope, receive, send, self.probe_paths)
        elif scope["type"] == "http" and scope["path"] in self.probe_paths:
            await _probe(scope, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "websocket" and is_draining():
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CloseCode.SERVICE_RESTART})
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.http_in_flight += 1
        self._http_idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.http_in_flight -= 1
            if not self.http_in_flight:
                self._http_idle.set()

    async def wait_http_idle(self, timeout_secs: float) -> None:
        """
        Wait until no HTTP request is running (an export, an API write), at most `timeout_secs`.
        """
        try:
            await asyncio.wait_for(self._http_idle.wait(), max(timeout_secs, 0.0))
        except TimeoutError:
            logger.warning("%s HTTP requests still running at shutdown", self.http_in_flight)


def _on_metrics_port(scope: Scope) -> bool:
    from django.conf import settings

    metrics_port: int | None = settings.METRICS_PORT
    server = scope.get("server")
    return bool(metrics_port) and server is not None and server[1] == metrics_port


async def _metrics_listener(
    scope: Scope, receive: Receive, send: Send, probe_paths: frozenset[str]
) -> None:
    """
    The METRICS_PORT listener: the probes and /metrics, nothing of the app.
    """
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})  # refused before the handshake
    elif scope["path"] in probe_paths:
        await _probe(scope, send)
    else:
        await _answer(scope, send, 404, "text/plain; charset=utf-8", b"Not found\n")


async def _probe(scope: Scope, send: Send) -> None:
    from realtime.server.views import NOT_FOUND, probe, scope_may_scrape

    if scope["path"] == "/metrics" and not scope_may_scrape(scope):
        status, content_type, body = NOT_FOUND
    else:
        status, content_type, body = await probe(scope["path"])
    await _answer(scope, send, status, content_type, body)


async def _answer(scope: Scope, send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close_hub()
            await send({"type": "lifespan.shutdown.complete"})
            return
