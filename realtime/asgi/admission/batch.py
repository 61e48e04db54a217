"""
Admitting a batch of sockets at once, in the admission thread: a few round trips per batch.

Sessions are read first in one query (or from the cache with SESSION_ENGINE cached_db), then one
lookup (realtime.asgi.admission.lookup) reads everything else, and each socket's answer is
decided from those rows by the rules of board.access. Anything unusual (a session that does not
verify with the current secret, a custom authentication backend, a ticket or token that fails
next to a session cookie) is resolved on its own, as Django would (realtime.asgi.admission.
single), still in that thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.db import connections
from django.utils import timezone

from board.access import (
    TicketClaim,
    read_socket_ticket,
    session_credential,
    strongest,
    token_credential,
)
from board.models import LinkAccess, Role
from realtime.asgi.admission.handshake import Knock
from realtime.asgi.admission.lookup import Ask, Found, lookup
from realtime.asgi.admission.sessions import load_sessions, session_user_id, session_verifies
from realtime.asgi.admission.single import refusal, resolved, session_user, socket_info

_LINK_ROLE: dict[str, Role] = {LinkAccess.VIEW: Role.VIEWER, LinkAccess.EDIT: Role.EDITOR}


def admit_batch(knocks: Sequence[Knock]) -> list[dict[str, Any] | Exception]:
    """
    Admit many sockets at once (in the admission thread): scope["inkroom"] for each, or the
    exception that resolving it raised. Same answers as admit() per socket.
    """
    try:
        return _admit_batch(knocks)
    finally:
        # As the hub's reader jobs do: an idle thread must not keep one of the pool's connections.
        connections.close_all()


def _admit_batch(knocks: Sequence[Knock]) -> list[dict[str, Any] | Exception]:
    claims: list[TicketClaim | None] = []
    for k in knocks:
        ticket = None if k.token_key else k.query.get("token")
        claims.append(read_socket_ticket(ticket, board_id=k.board_id) if ticket else None)
    # A session is read up front only for sockets with nothing else (browsers); others fall
    # back to theirs one by one, as admit() does, should their token or ticket fail.
    by_session = [
        i for i, k in enumerate(knocks) if k.session_key and not k.token_key and not claims[i]
    ]
    sessions = load_sessions([knocks[i].session_key or "" for i in by_session])
    session_uid: dict[int, int | None] = {
        i: session_user_id(sessions.get(knocks[i].session_key or "")) for i in by_session
    }
    asks = [
        Ask(
            user_id=claim.user_id if claim else session_uid.get(i),
            nonce=claim.nonce if claim else None,
            token_key=k.token_key,
            board_id=k.board_id,
            share=k.query.get("share") or None,
        )
        for i, (k, claim) in enumerate(zip(knocks, claims, strict=True))
    ]
    found = lookup(asks)
    now = timezone.now()
    granted: set[str] = set()
    out: list[dict[str, Any] | Exception] = []
    for i, k in enumerate(knocks):
        try:
            out.append(_decide(k, claims[i], sessions, i in by_session, found[i], granted, now))
        except Exception as error:  # one socket's failure is its own (1011), not the batch's
            out.append(error)
    return out


def _decide(
    k: Knock,
    claim: TicketClaim | None,
    sessions: dict[str, dict[str, Any]],
    by_session: bool,
    found: Found,
    granted: set[str],
    now: datetime,
) -> dict[str, Any]:
    user = found.user if found.user is not None and found.user[2] else None
    credential = ""
    if k.token_key:
        credential = token_credential(k.token_key)
    elif claim is not None:
        # A ticket admits once, also when one batch holds it twice.
        if not found.spent or claim.nonce in granted:
            user = None
        granted.add(claim.nonce)
        credential = claim.credential
    elif by_session:
        session = sessions.get(k.session_key or "")
        if not session or SESSION_KEY not in session:
            user = None  # no session, or one that is not signed in: anonymous, as get_user says
        elif (
            user is None
            or session_user_id(session) is None
            or not session_verifies(session, found.user)
        ):
            # Unknown or inactive user, another backend, or not verified by the current
            # secret: let Django decide, fallback secrets and flushing the session included.
            return resolved(k.scope, k.board_id, k.query, *session_user(k.scope))
        credential = session_credential(k.session_key or "")
    else:
        user = None
    if user is None and k.session_key and not by_session:
        # The token or ticket did not admit: the session cookie may (admit()).
        return resolved(k.scope, k.board_id, k.query, *session_user(k.scope))
    board = found.board
    if board is None:
        return refusal(user is not None)
    role = _role(user, board, found, now)
    if role is None:
        return refusal(user is not None)
    return socket_info(
        k.query,
        user_id=user[0] if user else None,
        user_name=user[1] if user else "guest",
        credential=credential if user else "",
        board={"id": board[0], "title": board[1], "link_access": board[2]},
        role=role,
        share_expires=found.share[1] if found.share else None,
    )


def _role(
    user: tuple[int, str, bool, str] | None,
    board: tuple[str, str, str, int],
    found: Found,
    now: datetime,
) -> Role | None:
    """
    board.access.resolve_role from the rows the batch read.
    """
    if user is not None and board[3] == user[0]:
        return Role.OWNER
    share = found.share
    share_role = share[0] if share and (share[1] is None or share[1] > now) else None
    member = found.member_role if user is not None else None
    return strongest(member, share_role, _LINK_ROLE.get(board[2]))
