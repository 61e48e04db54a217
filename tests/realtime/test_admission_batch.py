"""
Batched admission (realtime.asgi.admission.batch) against the one-socket path it replaced
(admission.single.admit): the same user, role, credential and refusal for every kind of caller,
tickets spent once, and the ORM lookup (SQLite) equal to the PostgreSQL statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from board.access import issue_socket_ticket, read_socket_ticket
from board.models import Board, LinkAccess, Membership, Role, ShareLink
from realtime.asgi.admission import batching, lookup
from realtime.asgi.admission.batch import admit_batch
from realtime.asgi.admission.handshake import Knock, knock
from realtime.asgi.admission.single import admit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

CLIENT_ID = "tab-000001"
#: A case: (headers, query) for a board id; built twice, so each path gets fresh tickets.
Case = Callable[[], tuple[list[tuple[bytes, bytes]], dict[str, str], str]]


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "websocket", "headers": headers, "query_string": b""}


def _session_cookie(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())]


def _q(**extra: str) -> dict[str, str]:
    return {"v": "2", "client_id": CLIENT_ID, **extra}


@pytest.fixture
def world(make_user: Callable[..., Any], make_board: Callable[..., Board]) -> dict[str, Any]:
    owner, viewer, stranger, gone = (make_user(n) for n in ("owner", "viewer", "stranger", "gone"))
    gone.is_active = False
    gone.save()
    private = make_board(owner, "private")
    Membership.objects.create(board=private, user=viewer, role=Role.VIEWER)
    Membership.objects.create(board=private, user=gone, role=Role.EDITOR)
    public = make_board(owner, "public", link_access=LinkAccess.VIEW)
    editor_link = ShareLink.objects.create(board=private, role=Role.EDITOR)
    expired = ShareLink.objects.create(
        board=private, role=Role.EDITOR, expires_at=timezone.now() - timedelta(minutes=1)
    )
    revoked = ShareLink.objects.create(board=private, role=Role.EDITOR, revoked_at=timezone.now())
    return {
        "owner": owner, "viewer": viewer, "stranger": stranger, "gone": gone,
        "private": private, "public": public, "link": editor_link.token,
        "expired": expired.token, "revoked": revoked.token,
        "token": Token.objects.create(user=viewer).key,
        "gone_token": Token.objects.create(user=gone).key,
    }  # fmt: skip


def _cases(w: dict[str, Any]) -> dict[str, Case]:
    private, public = w["private"].id, w["public"].id
    cookies: dict[str, list[tuple[bytes, bytes]]] = {}

    def session(user: str) -> list[tuple[bytes, bytes]]:
        # One session per user, used by both paths (sessions, unlike tickets, are not spent).
        if user not in cookies:
            cookies[user] = _session_cookie(w[user])
        return cookies[user]

    def ticket(user: str, board: str, on: str | None = None) -> Case:
        return lambda: (
            [],
            _q(token=issue_socket_ticket(user_id=w[user].pk, board_id=board)),
            on or board,
        )

    return {
        "owner ticket": ticket("owner", private),
        "viewer ticket": ticket("viewer", private),
        "stranger ticket, private": ticket("stranger", private),
        "stranger ticket, link access": ticket("stranger", public),
        "ticket for another board": ticket("viewer", public, on=private),
        "inactive user's ticket": ticket("gone", private),
        "ticket, no such board": lambda: (
            [],
            _q(token=issue_socket_ticket(user_id=w["viewer"].pk, board_id="nope")),
            "nope",
        ),
        "api token": lambda: ([(b"authorization", f"Token {w['token']}".encode())], _q(), private),
        "api token of an inactive user": lambda: (
            [(b"authorization", f"Token {w['gone_token']}".encode())],
            _q(),
            private,
        ),
        "unknown api token": lambda: ([(b"authorization", b"Token nope")], _q(), private),
        "session": lambda: (session("viewer"), _q(), private),
        "session, owner": lambda: (session("owner"), _q(), private),
        "session, stranger, link access": lambda: (session("stranger"), _q(), public),
        "unknown session": lambda: (
            [(b"cookie", f"{settings.SESSION_COOKIE_NAME}=abcdefghijklmnop".encode())],
            _q(),
            private,
        ),
        "session and a bad ticket": lambda: (
            session("viewer"),
            _q(token="bad"),
            private,
        ),
        "session and a spent ticket": lambda: (
            session("owner"),
            _q(token=_spent(w["viewer"].pk, private)),
            private,
        ),
        "share link": lambda: ([], _q(share=w["link"]), private),
        "viewer with an editor share link": lambda: (
            session("viewer"),
            _q(share=w["link"]),
            private,
        ),
        "expired share link": lambda: ([], _q(share=w["expired"]), private),
        "revoked share link": lambda: ([], _q(share=w["revoked"]), private),
        "anonymous, link access": lambda: ([], _q(), public),
        "anonymous, private": lambda: ([], _q(), private),
        "anonymous, no such board": lambda: ([], _q(), "nope"),
    }


def _spent(user_id: int, board_id: str) -> str:
    ticket = issue_socket_ticket(user_id=user_id, board_id=board_id)
    assert admit(_scope([]), board_id, _q(token=ticket))["refusal"] is None
    return ticket


def test_a_batch_admits_as_one_socket_at_a_time_would(world: dict[str, Any]) -> None:
    cases = _cases(world)
    one_by_one = {}
    for name, case in cases.items():
        headers, query, board_id = case()
        one_by_one[name] = admit(_scope(headers), board_id, query)
    knocks = []
    for case in cases.values():
        headers, query, board_id = case()
        knocks.append(knock(_scope(headers), board_id, query))
    batched = dict(zip(cases, admit_batch(knocks), strict=True))
    assert batched == one_by_one
    assert batched["owner ticket"]["role"] == "owner"
    assert batched["viewer with an editor share link"]["role"] == "editor"
    assert batched["session and a spent ticket"]["user_id"] == world["owner"].pk
    assert batched["stranger ticket, private"] == {"refusal": 4004}
    assert batched["anonymous, no such board"] == {"refusal": 4001}


def test_the_password_change_of_a_session_is_seen(world: dict[str, Any]) -> None:
    cookie = _session_cookie(world["viewer"])
    viewer = world["viewer"]
    viewer.set_password("another one")
    viewer.save()
    (info,) = admit_batch([knock(_scope(cookie), world["private"].id, _q())])
    assert info == {"refusal": 4001}


def test_a_ticket_admits_once_even_twice_in_one_batch(world: dict[str, Any]) -> None:
    ticket = issue_socket_ticket(user_id=world["viewer"].pk, board_id=world["private"].id)
    k = knock(_scope([]), world["private"].id, _q(token=ticket))
    first, second = admit_batch([k, k])
    assert isinstance(first, dict) and first["role"] == "viewer"
    assert second == {"refusal": 4001}
    (again,) = admit_batch([k])
    assert again == {"refusal": 4001}


def test_the_orm_lookup_finds_what_the_statement_finds(world: dict[str, Any]) -> None:
    cases = _cases(world)

    def asks() -> list[lookup.Ask]:
        out = []
        for case in cases.values():
            headers, query, board_id = case()
            k = knock(_scope(headers), board_id, query)
            claim = read_socket_ticket(query.get("token", ""), board_id=board_id)
            out.append(
                lookup.Ask(
                    user_id=claim.user_id if claim else None,
                    nonce=claim.nonce if claim else None,
                    token_key=k.token_key,
                    board_id=board_id,
                    share=query.get("share"),
                )
            )
        return out

    assert lookup.lookup_orm(asks()) == lookup.lookup_postgres(asks())


async def test_sockets_knocking_together_are_admitted_in_one_batch(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    def counting(knocks: list[Knock]) -> list[Any]:
        batches.append(len(knocks))
        return admit_batch(knocks)

    monkeypatch.setattr(batching, "admit_batch", counting)
    board_id = world["public"].id
    admissions = batching.get_admissions()
    infos = await asyncio.gather(
        *(admissions.admit(knock(_scope([]), board_id, _q())) for _ in range(20))
    )
    assert [i["role"] for i in infos] == ["viewer"] * 20
    assert batches == [20]
