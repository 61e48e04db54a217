"""
Hostile input against the API (issue 15, finding 8): ids beyond a bigint, unknown paths under
/api/, and 400s without `errors` get the documented JSON answers, never a 500 or an HTML page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve
from rest_framework.test import APIClient

from api.exceptions import api_not_found, exception_handler, server_error
from board.exceptions import BoardFull, OpRejected
from board.models import Board
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db

#: The first number above PostgreSQL's bigint (and SQLite's INTEGER).
HUGE = 2**63
#: Every route of api/urls.py that takes an id, with the methods it answers.
ID_ROUTES = [
    ("members/{}/", ("patch", "delete")),
    ("share-links/{}/", ("delete",)),
    ("snapshots/{}/", ("get",)),
    ("snapshots/{}/state/", ("get",)),
    ("snapshots/{}/restore/", ("post",)),
]
NOT_FOUND = {"message": "Not found.", "code": "not_found", "extra": {}}


@pytest.mark.parametrize("route", [route for route, _ in ID_ROUTES])
def test_ids_beyond_a_bigint_match_no_route(route: str) -> None:
    # Before: Django's `int` converter took any number and handed it to the view; with SQLite the
    # member lookup raised OverflowError (a 500), on every database the number reached a query.
    base = "/api/v1/boards/some-board/"
    assert resolve(base + route.format(HUGE)).func is api_not_found
    assert resolve(base + route.format(HUGE * 10**6)).func is api_not_found
    assert resolve(base + route.format(HUGE - 1)).func is not api_not_found


@pytest.mark.parametrize(("route", "methods"), ID_ROUTES)
def test_ids_beyond_a_bigint_answer_a_json_404(
    client_for: Callable[[Any], APIClient], user: Any, board: Board, route: str, methods: Any
) -> None:
    client = client_for(user)
    for method in methods:
        path = f"/api/v1/boards/{board.id}/" + route.format(HUGE)
        response = getattr(client, method)(path, {"role": "viewer"}, format="json")
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/nope/",
        "/api/v1/",
        "/api/v1/nope/",
        "/api/v2/boards/",
        "/api/v1/boards/some-board/nope/",
        "/api/v1/boards/some-board/export/gif/",
        "/api/v1/boards/some-board/members/-1/",
        "/api/v1/boards/some-board/members/%C2%B2/",
    ],
)
def test_unknown_api_paths_answer_a_json_404_for_every_method(path: str) -> None:
    # A session client with CSRF enforced: an unsafe method on an unknown path is a 404, not the
    # CSRF failure page. Before: Django's HTML 404 page for all of them.
    client = Client(enforce_csrf_checks=True)
    for method in ("get", "post", "put", "delete", "options"):
        response = getattr(client, method)(path)
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == "application/json", (method, path)
        assert response.json() == NOT_FOUND, (method, path)


def test_a_missing_trailing_slash_is_named_in_the_404(user: Any) -> None:
    client = APIClient()
    client.login(username=user.username, password=PASSWORD)
    response = client.post("/api/v1/boards", {"title": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == ("Not found. API paths end with a slash: /api/v1/boards/")
    assert not Board.objects.exists()


def test_pages_outside_the_api_keep_djangos_404() -> None:
    response = Client().get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_parse_error_carries_errors_like_every_400(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    response = client_for(user).post(
        "/api/v1/boards/", b'{"title": ', content_type="application/json"
    )
    body = response.json()
    assert response.status_code == 400 and body["code"] == "parse_error"
    # Before: no `errors` key, unlike every other 400 (and the schema's ValidationError).
    assert body["errors"] == {"non_field_errors": [body["message"]]}
    assert body["message"].startswith("JSON parse error")


@pytest.mark.parametrize("error", [OpRejected("bad op"), BoardFull("full", extra={"max": 1})])
def test_domain_400s_carry_errors_too(error: OpRejected) -> None:
    response = exception_handler(error, {})
    assert response is not None and response.status_code == 400
    assert response.data == {
        "message": error.message,
        "code": error.code,
        "extra": error.extra,
        "errors": {"non_field_errors": [error.message]},
    }


def test_djangos_own_400_is_json_under_the_api() -> None:
    # A Host not in ALLOWED_HOSTS is refused by Django itself (DisallowedHost), before any view.
    api = Client(HTTP_HOST="evil.example").get("/api/v1/boards/")
    assert api.status_code == 400 and api["Content-Type"] == "application/json"
    assert api.json() == {
        "message": "Bad request.",
        "code": "bad_request",
        "extra": {},
        "errors": {"non_field_errors": ["Bad request."]},
    }
    page = Client(HTTP_HOST="evil.example").get("/login/")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_server_error_is_json_under_the_api() -> None:
    api = server_error(RequestFactory().get("/api/v1/boards/"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert api.content == b'{"message":"Internal server error.","code":"server_error","extra":{}}'
    assert server_error(RequestFactory().get("/login/"))["Content-Type"].startswith("text/html")
