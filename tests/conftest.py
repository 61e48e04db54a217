"""
Shared fixtures: users, boards and an authenticated API client.

Tests run against the services named by DATABASE_URL and REDIS_URL (real PostgreSQL and Redis in
`make test`; see pyproject's pytest env defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from board.models import Board, Membership, Role

User = get_user_model()
PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    counter = iter(range(1, 1_000_000))

    def make(username: str | None = None) -> Any:
        name = username or f"user{next(counter)}"
        return User.objects.create_user(username=name, password=PASSWORD)

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def make_board(db: Any) -> Callable[..., Board]:
    def make(owner: Any, title: str = "Sketches", **fields: Any) -> Board:
        board = Board.objects.create(owner=owner, title=title, **fields)
        Membership.objects.create(board=board, user=owner, role=Role.OWNER)
        return board

    return make


@pytest.fixture
def board(make_board: Callable[..., Board], user: Any) -> Board:
    return make_board(user)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db: Any) -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make
