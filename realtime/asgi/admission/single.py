"""
Admitting one socket on its own, with queries of its own, exactly as Django would.

The batch (realtime.asgi.admission.batch) gives the same answers; this is what it falls back to
for anything unusual, and what its tests compare it with.

Like the API, admission never tells whether a board exists to a caller with no role on it: a
signed-in caller gets 4004 both for a board that does not exist and for one they may not open,
an anonymous caller 4001 for both.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user, get_user_model

from board.access import (
    redeem_socket_ticket,
    resolve_role,
    session_credential,
    share_link_for_token,
    token_credential,
)
from board.models import Board, Role
from realtime.asgi.admission.handshake import Scope, header_value, session_key
from realtime.wire.protocol import CloseCode
from realtime.wire.v1 import valid_client_id

#: Who is connecting and the fingerprint of the credential that says so (board.access).
Caller = tuple[Any, str]
NOBODY: Caller = (None, "")


def session_user(scope: Scope) -> Caller:
    key = session_key(scope)
    if key is None:
        return NOBODY
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(key)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return (user, session_credential(key)) if user.is_authenticated else NOBODY


def token_user(scope: Scope, ticket: str | None, board_id: str) -> Caller:
    header = header_value(scope, b"authorization")
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
    Resolve user, board and role of one socket on its own (queries of its own); return
    scope["inkroom"] (with `refusal` set when refused). The batch (admit_batch) gives the same
    answers; this is what it falls back to.
    """
    user, credential = token_user(scope, query.get("token"), board_id)
    if user is None:
        user, credential = session_user(scope)
    return resolved(scope, board_id, query, user, credential)


def resolved(
    scope: Scope, board_id: str, query: dict[str, str], user: Any, credential: str
) -> dict[str, Any]:
    board = Board.objects.filter(pk=board_id).first()
    share = query.get("share") or None
    role = resolve_role(user, board, share) if board is not None else None
    if board is None or role is None:
        return refusal(user is not None)
    return socket_info(
        query,
        user_id=user.pk if user else None,
        user_name=user.get_username() if user else "guest",
        credential=credential,
        board={"id": board.id, "title": board.title, "link_access": board.link_access},
        role=role,
        share_expires=share_link_expiry(board, share),
    )


def share_link_expiry(board: Board, token: str | None) -> datetime | None:
    """
    When the share link of `token` on `board` expires (None: never, or no such link).
    """
    link = share_link_for_token(board, token)
    return link.expires_at if link is not None else None


def refusal(signed_in: bool) -> dict[str, Any]:
    # As the API answers 404 alike for "no such board" and "no role on it" (401 to anonymous
    # callers), so that a board's existence never leaks: 4004 or 4001, never 4003 here.
    return {"refusal": CloseCode.NOT_FOUND if signed_in else CloseCode.UNAUTHENTICATED}


def socket_info(
    query: dict[str, str],
    *,
    user_id: int | None,
    user_name: str,
    credential: str,
    board: dict[str, Any],
    role: Role,
    share_expires: datetime | None = None,
) -> dict[str, Any]:
    client_id = query.get("client_id", "")
    return {
        "refusal": None,
        "user_id": user_id,
        "user_name": user_name,
        "credential": credential,
        "board": board,
        "role": str(role),
        "share": query.get("share") or None,
        "share_expires": share_expires.timestamp() if share_expires is not None else None,
        "client_id": client_id if valid_client_id(client_id) else secrets.token_urlsafe(12),
    }
