"""
Every string the API accepts is a sequence of Unicode scalar values (issue 14).

JSON may spell a lone surrogate (`"\\ud800"`), which Python decodes into a str that PostgreSQL,
password hashing and every UTF-8 encoder refuse: the API answers 400 naming the field, never 500.
Bodies are written by hand: the test client's JSON renderer could not encode such a str either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from board.models import Board, Membership, Snapshot
from tests.support.factories import World

pytestmark = pytest.mark.django_db

#: A lone high surrogate as a JSON escape: legal JSON, not a Unicode scalar value.
LONE = "\\ud800"


def post_raw(client: APIClient, path: str, body: str, method: str = "post") -> Any:
    return getattr(client, method)(path, data=body.encode("ascii"), content_type="application/json")


def assert_names(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]
    assert "surrogate" in body["errors"][field][0].lower()


def test_board_title_with_a_lone_surrogate_is_a_400_naming_it(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    response = post_raw(client_for(user), "/api/v1/boards/", f'{{"title": "a{LONE}b"}}')
    assert_names(response, "title")
    assert not Board.objects.exists()


def test_board_rename_with_a_lone_surrogate_is_a_400(world: World) -> None:
    path = f"/api/v1/boards/{world.board.id}/"
    response = post_raw(world.client("owner"), path, f'{{"title": "{LONE}"}}', method="patch")
    assert_names(response, "title")
    world.board.refresh_from_db()
    assert world.board.title == "Team sketch"


def test_snapshot_label_with_a_lone_surrogate_is_a_400(world: World) -> None:
    path = f"/api/v1/boards/{world.board.id}/snapshots/"
    response = post_raw(world.client("owner"), path, f'{{"label": "{LONE}"}}')
    assert_names(response, "label")
    assert Snapshot.objects.filter(board=world.board).count() == 1


def test_member_username_with_a_lone_surrogate_is_a_400(world: World) -> None:
    path = f"/api/v1/boards/{world.board.id}/members/"
    body = f'{{"username": "target{LONE}", "role": "editor"}}'
    response = post_raw(world.client("owner"), path, body)
    assert_names(response, "username")
    assert Membership.objects.filter(board=world.board).count() == 4


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("path", ["/api/v1/auth/signup/", "/api/v1/auth/token/"])
def test_credentials_with_a_lone_surrogate_are_a_400(
    api_client: APIClient, user: Any, path: str, field: str
) -> None:
    values = {"username": "newcomer", "password": "correct-horse-battery"}
    values[field] = values[field] + LONE
    body = f'{{"username": "{values["username"]}", "password": "{values["password"]}"}}'
    assert_names(post_raw(api_client, path, body), field)


def test_a_lone_surrogate_anywhere_in_the_body_is_named_by_its_path(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    # Fields no serializer reads, nested values and keys are refused too: one rule for the body.
    client = client_for(user)
    response = post_raw(
        client, "/api/v1/boards/", f'{{"title": "ok", "x": [1, {{"y": "{LONE}"}}]}}'
    )
    assert_names(response, "x[1].y")
    response = post_raw(client, "/api/v1/boards/", f'{{"title": "ok", "{LONE}": 1}}')
    assert_names(response, "non_field_errors")
    response = post_raw(client, "/api/v1/boards/", f'{{"title": "ok", "x": {{"{LONE}": 1}}}}')
    assert_names(response, "x")
    response = post_raw(client, "/api/v1/boards/", f'["{LONE}"]')
    assert_names(response, "[0]")
    assert not Board.objects.exists()


def test_surrogate_pairs_are_one_character_and_accepted(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    # "\ud83d\udd8a" is JSON's spelling of U+1F58A (a pen): a pair, not lone surrogates.
    response = post_raw(client_for(user), "/api/v1/boards/", '{"title": "pen \\ud83d\\udd8a"}')
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "pen \U0001f58a"


def test_bodies_that_are_not_utf8_never_become_surrogates(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    # ED A0 80 is U+D800 as a lax encoder writes it: a JSON body is decoded strictly (400
    # parse_error), a form body with replacement characters (Django's QueryDict).
    client = client_for(user)
    body = b'{"title": "\xed\xa0\x80"}'
    response = client.post("/api/v1/boards/", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    form = "application/x-www-form-urlencoded"
    response = client.post("/api/v1/boards/", data="title=a%ED%A0%80", content_type=form)
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "a\ufffd\ufffd\ufffd"


def test_undecodable_query_parameters_are_replaced_not_surrogates(
    client_for: Callable[[Any], APIClient], user: Any, make_board: Callable[..., Board]
) -> None:
    # %ED%A0%80 is U+D800 in "UTF-8": Django decodes query strings with errors="replace", so
    # the search sees U+FFFD and finds nothing; the same holds for ?share= tokens.
    make_board(user, title="Sketches")
    response = client_for(user).get("/api/v1/boards/?search=%ED%A0%80")
    assert response.status_code == 200
    assert response.json()["results"] == []
    response = APIClient().get(f"/api/v1/boards/{Board.objects.get().id}/?share=%ED%A0%80")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/boards/", f'{{"title": "ok", "link_access": "{LONE}"}}', "link_access"),
        ("members/", f'{{"username": "target", "role": "{LONE}"}}', "role"),
        ("share-links/", f'{{"role": "{LONE}"}}', "role"),
        ("share-links/", f'{{"role": "viewer", "expires_in_hours": "{LONE}"}}', "expires_in_hours"),
    ],
)
def test_choice_and_number_fields_with_a_lone_surrogate_are_a_400(
    world: World, path: str, body: str, field: str
) -> None:
    # DRF's "is not a valid choice" message quotes the input: rendering it must not fail.
    if not path.startswith("/"):
        path = f"/api/v1/boards/{world.board.id}/{path}"
    assert_names(post_raw(world.client("owner"), path, body), field)
