"""
The API side of credential revocation (issue 15, finding 3; the sockets' side is
tests/realtime/test_socket_credentials.py): what a socket ticket is bound to, what ending a
credential publishes and deletes, and that signing out works with the channel layer away.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from board.access import (
    issue_socket_ticket,
    read_socket_ticket,
    redeem_socket_ticket,
    session_credential,
    token_credential,
)
from board.models import SocketTicket
from tests.support.factories import api_token, signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def ticket_url(board: Any) -> str:
    return f"/api/v1/boards/{board.id}/socket-ticket/"


def test_a_ticket_is_bound_to_the_credential_that_asked_for_it(board: Any, user: Any) -> None:
    token = api_token(user)
    by_token = APIClient().post(ticket_url(board), HTTP_AUTHORIZATION=f"Token {token}").json()
    claim = read_socket_ticket(by_token["ticket"], board_id=board.id)
    assert claim is not None and claim.credential == token_credential(token)

    browser = signed_in(user)
    by_session = browser.post(ticket_url(board)).json()
    claim = read_socket_ticket(by_session["ticket"], board_id=board.id)
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert claim is not None and claim.credential == session_credential(session_key)
    # A fingerprint, never the secret itself: the ticket sits in a URL.
    assert token not in by_token["ticket"] and session_key not in by_session["ticket"]


def test_a_ticket_is_spent_once_and_only_for_its_board(board: Any, user: Any, make_board) -> None:
    other = make_board(user, title="other")
    ticket = issue_socket_ticket(user_id=user.pk, board_id=board.id)
    assert redeem_socket_ticket(ticket, board_id=other.id) is None
    assert redeem_socket_ticket(ticket, board_id=board.id) is not None
    assert redeem_socket_ticket(ticket, board_id=board.id) is None


def test_issuing_sweeps_expired_tickets(board: Any, user: Any) -> None:
    issue_socket_ticket(user_id=user.pk, board_id=board.id)
    SocketTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    issue_socket_ticket(user_id=user.pk, board_id=board.id)
    assert SocketTicket.objects.count() == 1


def test_deleting_the_token_publishes_once_and_voids_its_tickets_only(
    board: Any, user: Any, hub_events: Any
) -> None:
    token = api_token(user)
    browser = signed_in(user)
    APIClient().post(ticket_url(board), HTTP_AUTHORIZATION=f"Token {token}")
    browser.post(ticket_url(board))

    response = APIClient().delete("/api/v1/auth/token/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 204
    assert [e for e in hub_events() if e["kind"] == "credential_gone"] == [
        {
            "type": "board.event",
            "kind": "credential_gone",
            "user": user.pk,
            "credential": token_credential(token),
        }
    ]
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert list(SocketTicket.objects.values_list("credential", flat=True)) == [
        session_credential(session_key)
    ]


def test_signing_out_works_with_the_channel_layer_away(
    board: Any, user: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreachable:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            raise ConnectionError("redis is away")

    monkeypatch.setattr("realtime.cluster.fanout.get_channel_layer", Unreachable)
    browser = signed_in(user)
    browser.post(ticket_url(board))
    assert browser.post("/api/v1/auth/logout/").status_code == 204
    assert browser.get("/api/v1/auth/me/").status_code in (401, 403)
    assert SocketTicket.objects.count() == 0  # its ticket is void all the same
    assert "redis is away" in caplog.text
