"""
The page views: which template, who must sign in first, and no open redirect after sign-in.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HOST = {"HTTP_HOST": "127.0.0.1"}


def test_board_list_and_board_need_a_session_or_share_token() -> None:
    client = Client(**HOST)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
    response = client.get("/b/abc123/")
    assert response["Location"] == "/login/?next=%2Fb%2Fabc123%2F"
    # A share-link holder may be anonymous: the socket and API decide, not the page.
    response = client.get("/b/abc123/?share=tok")
    assert response.status_code == 200
    assert b'data-board-id="abc123"' in response.content
    assert b"frontend/dist/main.js" in response.content


def test_pages_render_with_the_bundle_and_a_csrf_cookie(user: Any) -> None:
    client = Client(**HOST)
    for path in ["/login/", "/signup/"]:
        response = client.get(path)
        assert response.status_code == 200
        assert b'type="module"' in response.content
        assert "csrftoken" in response.cookies
    client.force_login(user)
    assert client.get("/").status_code == 200
    page = client.get("/b/xyz/")
    assert page.status_code == 200
    assert b'aria-label="Pen (P)"' in page.content
    assert b'id="status"' in page.content


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/b/q/", "/b/q/"), ("https://evil.example/", "/"), ("//evil.example/", "/")],
)
def test_signed_in_users_skip_login_to_a_safe_next(user: Any, next_url: str, expected: str) -> None:
    client = Client(**HOST)
    client.force_login(user)
    response = client.get("/login/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == expected
