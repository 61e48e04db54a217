"""
The request body limit, enforced in ASGI before Django reads a byte (issue 15, finding 5).

Django's ASGI handler reads the whole body into a temporary file before any view or middleware
runs, and only then checks DATA_UPLOAD_MAX_MEMORY_SIZE (and DRF, which parses from the raw stream,
not even that: api/base.py checks Content-Length itself). So 150 MB were accepted,
unauthenticated, on any path, and a chunked body (no Content-Length) was not limited at all.

`BodyLimitMiddleware` wraps the Django app (config/asgi.py) and answers 413 with the API's JSON
error body:

* at once, from the Content-Length header, when it is above the limit: nothing is read;
* otherwise it counts the bytes of the `http.request` messages as the app receives them; past
  the limit the app is told the client disconnected (Django drops the request without
  answering) and the 413 goes out instead.

The limit is settings.DATA_UPLOAD_MAX_MEMORY_SIZE (env INKROOM_MAX_BODY_BYTES, default 2 MiB;
None disables it), read per request so override_settings applies. Nothing in the API needs
more: boards travel as ops over the socket, no request imports or restores a document from its
body (a restore names a stored snapshot), the largest bodies are titles, labels and member
changes (a few hundred bytes), and there is no file upload.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from rest_framework.renderers import JSONRenderer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: Loose on purpose: Django's ASGIHandler declares dict scopes and Mapping messages.
ASGIApp = Callable[..., Awaitable[None]]

#: The error code of every 413, the same as api.exceptions.RequestTooLarge's.
TOO_LARGE = "too_large"
#: How long a refusal keeps taking (and dropping) body messages after its answer went out, so
#: the server can close the stream (seconds). Hypercorn queues at most 10 messages per request;
#: a server that never reports the end of the stream just costs this wait.
DISCARD_SECS = 1.0

_DISCONNECT: Message = {"type": "http.disconnect"}


def body_limit() -> int | None:
    """
    Return the largest accepted request body in bytes, or None for no limit.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


def declared_length(scope: Scope) -> int | None:
    """
    Return the request's Content-Length, or None when it has none or it is not a number.

    h11 already refuses a malformed or conflicting Content-Length with a 400; a header we cannot
    read is left to the byte count.
    """
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = bytes(value).strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimitMiddleware:
    """
    ASGI middleware refusing HTTP request bodies above body_limit() with a JSON 413.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit() if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > limit:
            await refuse(receive, send, f"Request body of {length} bytes is above {limit} bytes.")
            return
        guard = _CountingReceive(receive, limit)
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, guard, tracked_send)
        # An app that answered while still reading (Django never does) keeps its answer; the
        # server ends the request since its body was not read to the end.
        if guard.exceeded and not started:
            await refuse(receive, send, f"Request body is above {limit} bytes.")


class _CountingReceive:
    """
    The app's `receive`: passes messages through, counting body bytes; once the count is above
    the limit, every call returns http.disconnect (Django's read_body then raises RequestAborted
    and answers nothing, and the body it spooled so far is dropped).
    """

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.received = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        if self.exceeded:
            return dict(_DISCONNECT)
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return dict(_DISCONNECT)
        return message


async def refuse(receive: Receive, send: Send, message: str) -> None:
    """
    Answer 413 with the API's error body and `Connection: close`, leaving the body unread.

    While the answer goes out, body messages that are already queued are taken and dropped:
    Hypercorn's per-request queue is bounded (10 messages), and once the response is complete
    it queues http.disconnect, from inside our last `send`; with the queue full and nobody
    reading, that send, and the connection, would wait forever. After the disconnect Hypercorn
    reads no further body and closes the connection (the client has not finished its request).
    """
    # DRF's renderer: the same compact bytes as every other API error.
    body = JSONRenderer().render({"message": message, "code": TOO_LARGE, "extra": {}})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"cache-control", b"no-store"),
    ]
    discarding = asyncio.ensure_future(_discard_body(receive))
    try:
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(discarding), DISCARD_SECS)
    finally:
        discarding.cancel()


async def _discard_body(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
