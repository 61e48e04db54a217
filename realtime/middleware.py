"""
Socket admission: origin check, then who is connecting and with which role, before accept().

At connect only, one database_sync_to_async call resolves the user (Django session cookie,
`Authorization: Token <api token>`, or a `?token=` socket ticket), the board and the role
(board.access.resolve_role, including `?share=`), and stores them in scope["inkroom"]. `send` is
passed through unwrapped: unlike channels' AuthMiddlewareStack/SessionMiddleware, nothing here
sits on the per-message path. A refused socket is accepted and closed at once with 4000/4001/
4003/4004 (browsers cannot read the status of a refused upgrade) and gets no data; an error while
resolving closes it with 1011, so a handshake is never left hanging.
"""

from __future__ import annotations

import logging
import secrets
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user, get_user_model

from board.access import resolve_role, verify_socket_ticket
from board.models import Board
from realtime.protocol import SUPPORTED_VERSIONS, CloseCode, valid_client_id

logger = logging.getLogger(__name__)

Scope = dict[str, Any]


class SocketOriginValidator(OriginValidator):  # type: ignore[misc]
    """
    Channels' origin check against ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS, except that a missing
    Origin is allowed: only browsers send one, and API clients authenticate with tokens, which
    a cross-site page cannot attach (protocol §1).
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        self.allowed_origins = list(settings.ALLOWED_HOSTS) + list(settings.CSRF_TRUSTED_ORIGINS)
        if settings.DEBUG and not settings.ALLOWED_HOSTS:
            self.allowed_origins += [".localhost", "127.0.0.1", "[::1]"]
        return bool(self.validate_origin(parsed_origin))


def _query(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _is_number(value: str) -> bool:
    """
    True for a decimal of ASCII digits: str.isdigit() alone also takes "²", which int() refuses.
    """
    return value.isascii() and value.isdigit()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin1")
    return None


def _session_user(scope: Scope) -> Any:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        cookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(morsel.value)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return user if user.is_authenticated else None


def _token_user(scope: Scope, ticket: str | None, board_id: str) -> Any:
    header = _header(scope, b"authorization")
    if header and header.startswith("Token "):
        from rest_framework.authtoken.models import Token

        token = Token.objects.select_related("user").filter(key=header[6:].strip()).first()
        return token.user if token is not None and token.user.is_active else None
    if ticket:
        user_id = verify_socket_ticket(ticket, board_id=board_id)
        if user_id is not None:
            return get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return None


def admit(scope: Scope, board_id: str, query: dict[str, str]) -> dict[str, Any]:
    """
    Resolve user, board and role; return scope["inkroom"] (with `refusal` set when refused).
    """
    user = _token_user(scope, query.get("token"), board_id) or _session_user(scope)
    board = Board.objects.filter(pk=board_id).first()
    if board is None:
        return {"refusal": CloseCode.NOT_FOUND}
    share = query.get("share") or None
    role = resolve_role(user, board, share)
    if role is None:
        return {"refusal": CloseCode.FORBIDDEN if user else CloseCode.UNAUTHENTICATED}
    client_id = query.get("client_id", "")
    return {
        "refusal": None,
        "user_id": user.pk if user else None,
        "user_name": user.get_username() if user else "guest",
        "board": {"id": board.id, "title": board.title, "link_access": board.link_access},
        "role": str(role),
        "share": share,
        "client_id": client_id if valid_client_id(client_id) else secrets.token_urlsafe(12),
    }


class SocketAuthMiddleware:
    """
    Admits or refuses a board socket before the consumer sees it.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        query = _query(scope)
        board_id = scope["url_route"]["kwargs"]["board_id"]
        version = query.get("v", "1")
        if not _is_number(version) or int(version) not in SUPPORTED_VERSIONS:
            return await _refuse(receive, send, CloseCode.PROTOCOL_ERROR)
        try:
            info = await database_sync_to_async(admit)(scope, board_id, query)
        except Exception:
            logger.exception("admitting a socket to board %s failed", board_id)
            return await _refuse(receive, send, CloseCode.INTERNAL_ERROR)
        if info["refusal"] is not None:
            return await _refuse(receive, send, info["refusal"])
        since = query.get("since", "0")
        info["since"] = int(since) if _is_number(since) else 0
        info["version"] = int(version)
        scope = {**scope, "inkroom": info}
        await self.inner(scope, receive, send)


async def _refuse(receive: Any, send: Any, code: int) -> None:
    """
    Accept, then close with `code` at once: the client learns why; no data is sent.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(code)})
