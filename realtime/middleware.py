"""
Socket admission: origin check, then who is connecting and with which role, before accept().

At connect only, one database_sync_to_async call resolves the user (Django session cookie,
`Authorization: Token <api token>`, or a single-use `?token=` socket ticket), the board and the
role (board.access.resolve_role, including `?share=`), and stores them in scope["inkroom"] with
the fingerprint of the credential that admitted the socket (realtime.signals closes the socket
when that credential is revoked). `send` is passed through unwrapped: unlike channels'
AuthMiddlewareStack/SessionMiddleware, nothing here sits on the per-message path. A refused
socket is accepted and closed at once with 4000/4001/4004/4009 (browsers cannot read the status
of a refused upgrade) and gets no data; an error while resolving closes it with 1011, so a
handshake is never left hanging.

Like the API, admission never tells whether a board exists to a caller with no role on it: a
signed-in caller gets 4004 both for a board that does not exist and for one they may not open,
an anonymous caller 4001 for both.

The caps on sockets per user per board, per user and per board (protocol §1) are counted here,
per process: a socket counts from admission until its connection ends.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user, get_user_model

from board.access import (
    redeem_socket_ticket,
    resolve_role,
    session_credential,
    token_credential,
)
from board.conf import app_settings
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


#: Who is connecting and the fingerprint of the credential that says so (board.access).
Caller = tuple[Any, str]
NOBODY: Caller = (None, "")


def _session_user(scope: Scope) -> Caller:
    raw = _header(scope, b"cookie")
    if not raw:
        return NOBODY
    try:
        cookie = SimpleCookie(raw)
    except CookieError:
        return NOBODY
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return NOBODY
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(morsel.value)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return (user, session_credential(morsel.value)) if user.is_authenticated else NOBODY


def _token_user(scope: Scope, ticket: str | None, board_id: str) -> Caller:
    header = _header(scope, b"authorization")
    if header and header.startswith("Token "):
        from rest_framework.authtoken.models import Token

        token = Token.objects.select_related("user").filter(key=header[6:].strip()).first()
        if token is not None and token.user.is_active:
            return token.user, token_credential(token.key)
        return NOBODY
    if ticket:
        # Spent even if what follows refuses the socket: a ticket is good for one attempt.
        claim = redeem_socket_ticket(ticket, board_id=board_id)
        if claim is not None:
            user = get_user_model().objects.filter(pk=claim.user_id, is_active=True).first()
            if user is not None:
                return user, claim.credential
    return NOBODY


def admit(scope: Scope, board_id: str, query: dict[str, str]) -> dict[str, Any]:
    """
    Resolve user, board and role; return scope["inkroom"] (with `refusal` set when refused).
    """
    user, credential = _token_user(scope, query.get("token"), board_id)
    if user is None:
        user, credential = _session_user(scope)
    board = Board.objects.filter(pk=board_id).first()
    share = query.get("share") or None
    role = resolve_role(user, board, share) if board is not None else None
    if board is None or role is None:
        # As the API answers 404 alike for "no such board" and "no role on it" (401 to anonymous
        # callers), so that a board's existence never leaks: 4004 or 4001, never 4003 here.
        return {"refusal": CloseCode.NOT_FOUND if user else CloseCode.UNAUTHENTICATED}
    client_id = query.get("client_id", "")
    return {
        "refusal": None,
        "user_id": user.pk if user else None,
        "user_name": user.get_username() if user else "guest",
        "credential": credential,
        "board": {"id": board.id, "title": board.title, "link_access": board.link_access},
        "role": str(role),
        "share": share,
        "client_id": client_id if valid_client_id(client_id) else secrets.token_urlsafe(12),
    }


def _over(count: int, cap: int) -> bool:
    return 0 < cap <= count


@dataclass(slots=True)
class SocketTally:
    """
    The sockets this process (event loop) holds, for the caps of protocol §1. Plain counters:
    taking and giving back are a few dict operations on the loop, no database, no lock.
    """

    boards: Counter[str] = field(default_factory=Counter)
    users: Counter[int] = field(default_factory=Counter)
    user_boards: Counter[tuple[int, str]] = field(default_factory=Counter)

    def take(self, user_id: int | None, board_id: str) -> bool:
        """
        Count one more socket of `user_id` (None: anonymous) on `board_id`; False, counting
        nothing, when a cap is reached (0 disables a cap). Anonymous sockets (share links, link
        access) have no identity to count by: only the board's cap applies to them.
        """
        if _over(self.boards[board_id], int(app_settings.MAX_SOCKETS_PER_BOARD)):
            return False
        if user_id is not None:
            if _over(self.users[user_id], int(app_settings.MAX_SOCKETS_PER_USER)) or _over(
                self.user_boards[user_id, board_id], int(app_settings.MAX_SOCKETS_PER_USER_BOARD)
            ):
                return False
            self.users[user_id] += 1
            self.user_boards[user_id, board_id] += 1
        self.boards[board_id] += 1
        return True

    def give_back(self, user_id: int | None, board_id: str) -> None:
        """
        The socket counted by take() ended.
        """
        _decrement(self.boards, board_id)
        if user_id is not None:
            _decrement(self.users, user_id)
            _decrement(self.user_boards, (user_id, board_id))


def _decrement(counter: Counter[Any], key: Any) -> None:
    # Drop keys at zero: a long-lived process sees many users and boards come and go.
    if counter[key] <= 1:
        counter.pop(key, None)
    else:
        counter[key] -= 1


_tallies: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SocketTally] = (
    weakref.WeakKeyDictionary()
)


def get_tally() -> SocketTally:
    """
    The socket tally of the running event loop (one per process under Hypercorn, as the hub).
    """
    loop = asyncio.get_running_loop()
    tally = _tallies.get(loop)
    if tally is None:
        tally = _tallies[loop] = SocketTally()
    return tally


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
        user_id = info["user_id"]
        tally = get_tally()
        # Checked after admission, so that the code tells nothing to a caller with no role.
        if not tally.take(user_id, board_id):
            return await _refuse(receive, send, CloseCode.TOO_MANY_SOCKETS)
        since = query.get("since", "0")
        info["since"] = int(since) if _is_number(since) else 0
        info["version"] = int(version)
        scope = {**scope, "inkroom": info}
        try:
            await self.inner(scope, receive, send)
        finally:
            tally.give_back(user_id, board_id)


async def _refuse(receive: Any, send: Any, code: int) -> None:
    """
    Accept, then close with `code` at once: the client learns why; no data is sent.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(code)})
