"""
What a socket's handshake says: its query, its token header and its session cookie, read on the
loop before the socket waits for its admission batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

Scope = dict[str, Any]


def query_params(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def wants_presence_deltas(query: dict[str, str]) -> bool:
    """
    True when the socket URL has `presence=delta` (protocol §1): the client applies
    `presence_delta` frames, so it gets those instead of whole `presence` lists.
    """
    return query.get("presence") == "delta"


def wants_tentatives(query: dict[str, str]) -> int:
    """
    The socket URL's `tentative` (protocol §1): 1 or 2 when the client keeps a tentative layer
    (§2.6), so it is sent others' ops as soon as the board has checked them (2: in compact frames,
    on a v2 socket); 0 for anything else.
    """
    value = query.get("tentative")
    return int(value) if value in ("1", "2") else 0


def is_number(value: str) -> bool:
    """
    True for a decimal of ASCII digits: str.isdigit() alone also takes "²", which int() refuses.
    """
    return value.isascii() and value.isdigit()


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin1")
    return None


def session_key(scope: Scope) -> str | None:
    raw = header_value(scope, b"cookie")
    if not raw:
        return None
    try:
        cookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    return None if morsel is None else morsel.value


@dataclass(slots=True)
class Knock:
    """
    One socket asking to be admitted: what its handshake says, read on the loop.
    """

    scope: Scope
    board_id: str
    query: dict[str, str]
    #: The key of `Authorization: Token <key>`, if the header is there.
    token_key: str | None = None
    #: The session cookie's value, if any.
    session_key: str | None = None


def knock(scope: Scope, board_id: str, query: dict[str, str]) -> Knock:
    header = header_value(scope, b"authorization")
    token_key = header[6:].strip() if header and header.startswith("Token ") else None
    return Knock(scope, board_id, query, token_key, session_key(scope))
