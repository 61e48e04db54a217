"""
Users, boards, members and credentials for tests, made the way the product makes them (the ORM
for rows, the real API for tokens, sessions and socket tickets). The fixtures that call these
(`make_user`, `make_board`, `world`, ...) live in the conftest files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from board.models import Board, LinkAccess, Membership, Role, ShareLink, Snapshot

#: Every test user's password.
PASSWORD = "correct-horse-battery"
#: The callers of the API's role matrix (World.client).
CALLERS = ["owner", "editor", "viewer", "stranger", "anonymous", "anon_share", "anon_link"]


def create_user(username: str) -> Any:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


def create_board(owner: Any, title: str = "Sketches", **fields: Any) -> Board:
    """
    A board and its owner's membership, as the API creates them.
    """
    board = Board.objects.create(owner=owner, title=title, **fields)
    Membership.objects.create(board=board, user=owner, role=Role.OWNER)
    return board


def api_token(user: Any) -> str:
    """
    The user's API token, from `POST auth/token/` (the same token on every call).
    """
    body = {"username": user.username, "password": PASSWORD}
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def signed_in(user: Any) -> APIClient:
    """
    An API client signed in with a session of its own (as one browser).
    """
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def socket_ticket(board: Any, *, token: str | None = None, client: APIClient | None = None) -> str:
    """
    A socket ticket from `POST boards/{id}/socket-ticket/`, asked for with an API token or a
    signed-in client.
    """
    caller = client or APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    response = caller.post(f"/api/v1/boards/{board.id}/socket-ticket/", **headers)
    assert response.status_code == 200, response.content
    return str(response.json()["ticket"])


@dataclass
class World:
    """
    A board with one user per role, a stranger, a viewer to act on (`target`), a view link and a
    snapshot: what the API's role matrix is played on.
    """

    board: Board
    users: dict[str, Any]
    target: Any
    view_link: ShareLink
    snapshot: Snapshot

    def client(self, caller: str) -> APIClient:
        """
        Return an APIClient acting as `caller` (one of CALLERS).
        """
        client = APIClient()
        if caller in self.users:
            client.force_authenticate(user=self.users[caller])
        elif caller == "anon_share":
            client.credentials(HTTP_X_SHARE_TOKEN=self.view_link.token)
        elif caller == "anon_link":
            Board.objects.filter(id=self.board.id).update(link_access=LinkAccess.VIEW)
        return client
