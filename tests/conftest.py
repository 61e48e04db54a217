"""
Shared fixtures: users, boards and an authenticated API client, and (as a plugin) the real-server
fixtures of tests.support.servers.

Fixtures live in conftest files; what tests import (factories, op builders, clients) lives in
tests/support/, so no test imports a conftest.

Tests run against the services named by DATABASE_URL and REDIS_URL (real PostgreSQL and Redis in
`make test`; see pyproject's pytest env defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from board.models import Board
from tests.support.factories import create_board, create_user

pytest_plugins = ("tests.support.servers",)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """
    Users are created in nearly every test; PBKDF2 would cost about a second each. The servers
    tests start hash and check with the same list (tests/support/server_settings.py).
    """
    from tests.support.server_settings import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """
    Start every test with an empty default cache.

    It holds the sign-in, sign-up and export throttles' counts, in Redis under REDIS_URL, where
    they outlive the test (and the run): one test's attempts from 127.0.0.1 must not throttle
    the next. Only this process's keys go (config/cache.py); a Redis that is down is skipped.
    """
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    counter = iter(range(1, 1_000_000))

    def make(username: str | None = None) -> Any:
        return create_user(username or f"user{next(counter)}")

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def make_board(db: Any) -> Callable[..., Board]:
    return create_board


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
