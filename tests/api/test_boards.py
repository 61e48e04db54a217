"""
Boards over the API: create, list (pagination, search, ordering), retrieve, update, delete,
socket tickets, and the events each write publishes on commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from board import services
from board.access import read_socket_ticket
from board.models import Board, Membership, Role
from tests.support.factories import World

pytestmark = pytest.mark.django_db

BOARD_KEYS = {
    "id",
    "title",
    "owner",
    "role",
    "link_access",
    "head_seq",
    "created_at",
    "updated_at",
    "url",
    "thumbnail_url",
}


def test_create_returns_the_board_and_makes_the_caller_owner(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    response = client_for(user).post(
        "/api/v1/boards/", {"title": "  Roadmap  ", "link_access": "view"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == BOARD_KEYS
    assert body["title"] == "Roadmap"
    assert body["owner"] == {"id": user.pk, "username": "alice"}
    assert body["role"] == "owner" and body["link_access"] == "view" and body["head_seq"] == 0
    assert body["url"] == f"/b/{body['id']}/"
    assert Membership.objects.get(board_id=body["id"], user=user).role == Role.OWNER


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "link_access": "public"}, "link_access"),
    ],
)
def test_create_rejects_bad_input(
    client_for: Callable[[Any], APIClient], user: Any, body: dict[str, Any], field: str
) -> None:
    response = client_for(user).post("/api/v1/boards/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Board.objects.exists()


def test_create_refuses_malformed_json(client_for: Callable[[Any], APIClient], user: Any) -> None:
    response = client_for(user).post(
        "/api/v1/boards/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_list_shows_only_own_and_member_boards_with_the_callers_role(
    client_for: Callable[[Any], APIClient], make_user: Callable[..., Any], world: World
) -> None:
    editor = world.users["editor"]
    own = services.board_create(owner=editor, title="Editor's own")
    services.board_create(owner=world.users["stranger"], title="Not shared")
    body = client_for(editor).get("/api/v1/boards/").json()
    assert body["count"] == 2
    roles = {b["id"]: b["role"] for b in body["results"]}
    assert roles == {own.id: "owner", world.board.id: "editor"}


def test_list_paginates_searches_and_orders(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    for title in ["Banana", "apple pie", "Cherry", "Apple tart"]:
        services.board_create(owner=user, title=title)
    client = client_for(user)
    page = client.get("/api/v1/boards/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 4  # no client-chosen page size
    titles = [b["title"] for b in client.get("/api/v1/boards/?search=apple").json()["results"]]
    assert sorted(titles) == ["Apple tart", "apple pie"]
    ordered = client.get("/api/v1/boards/?ordering=title").json()["results"]
    assert [b["title"] for b in ordered] == ["Apple tart", "Banana", "Cherry", "apple pie"]
    newest = client.get("/api/v1/boards/?ordering=-created_at").json()["results"]
    assert newest[0]["title"] == "Apple tart"
    assert client.get("/api/v1/boards/?page=9").status_code == 404


def test_list_pages_of_fifty(client_for: Callable[[Any], APIClient], user: Any) -> None:
    Board.objects.bulk_create(Board(owner=user, title=f"b{i:02}") for i in range(55))
    client = client_for(user)
    first = client.get("/api/v1/boards/").json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None


def test_retrieve(world: World) -> None:
    body = world.client("viewer").get(f"/api/v1/boards/{world.board.id}/").json()
    assert set(body) == BOARD_KEYS
    assert body["role"] == "viewer" and body["head_seq"] == 2


def test_update_title_and_link_access_publishes_on_commit(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/boards/{world.board.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("owner").patch(
            url, {"title": "New", "link_access": "edit"}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["title"] == "New" and response.json()["link_access"] == "edit"
    events = [e for e in hub_events() if e["board"] == world.board.id]
    assert {
        "type": "board.event",
        "kind": "meta",
        "board": world.board.id,
        "title": "New",
        "link_access": "edit",
    } in events
    assert {
        "type": "board.event",
        "kind": "access",
        "board": world.board.id,
        "user": None,
    } in events


def test_editor_renames_but_cannot_change_link_access(world: World) -> None:
    url = f"/api/v1/boards/{world.board.id}/"
    editor = world.client("editor")
    assert editor.patch(url, {"title": "By editor"}, format="json").status_code == 200
    # Sending the unchanged value is not a change of link access.
    assert editor.patch(url, {"link_access": "none"}, format="json").status_code == 200
    refused = editor.patch(url, {"link_access": "view"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    world.board.refresh_from_db()
    assert world.board.title == "By editor" and world.board.link_access == "none"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"link_access": "everyone"}, "link_access"),
        ({"title": None}, "title"),
    ],
)
def test_update_rejects_bad_input(world: World, body: dict[str, Any], field: str) -> None:
    response = world.client("owner").patch(f"/api/v1/boards/{world.board.id}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_delete_removes_the_board_and_publishes(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/boards/{world.board.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("owner").delete(url).status_code == 204
    assert not Board.objects.filter(id=world.board.id).exists()
    assert world.client("owner").get(url).status_code == 404
    events = hub_events()
    assert {"type": "board.event", "kind": "deleted", "board": world.board.id} in events


def test_nothing_is_published_when_the_write_is_refused(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        world.client("viewer").delete(f"/api/v1/boards/{world.board.id}/")
    assert callbacks == []
    assert hub_events() == []


def test_socket_ticket(world: World) -> None:
    response = world.client("viewer").post(f"/api/v1/boards/{world.board.id}/socket-ticket/")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 60
    claim = read_socket_ticket(body["ticket"], board_id=world.board.id)
    assert claim is not None and claim.user_id == world.users["viewer"].pk
    assert body["ws_url"] == f"/ws/boards/{world.board.id}/?v=1&token={body['ticket']}"


def test_socket_ticket_carries_a_share_token_that_grants_the_role(world: World) -> None:
    link = world.board.share_links.create(role="editor")
    client = world.client("stranger")
    url = f"/api/v1/boards/{world.board.id}/socket-ticket/"
    body = client.post(url, HTTP_X_SHARE_TOKEN=link.token).json()
    assert body["ws_url"].endswith(f"&share={link.token}")
    assert client.post(url).status_code == 404


def test_list_costs_a_constant_number_of_queries(
    client_for: Callable[[Any], APIClient],
    make_user: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    owner, member = make_user("o"), make_user("m")
    for i in range(30):
        board = services.board_create(owner=owner if i % 2 else member, title=f"b{i}")
        if i % 2:
            Membership.objects.create(board=board, user=member, role=Role.VIEWER)
    client = client_for(member)
    # count + page (owners joined, roles annotated); no query per board.
    with django_assert_max_num_queries(2):
        body = client.get("/api/v1/boards/?ordering=title").json()
    assert body["count"] == 30
    assert {b["role"] for b in body["results"]} == {"owner", "viewer"}


def test_ties_in_ordering_are_broken_by_id(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    Board.objects.bulk_create(Board(owner=user, title="same") for _ in range(60))
    client = client_for(user)
    first = client.get("/api/v1/boards/?ordering=title").json()
    second = client.get(first["next"]).json()
    ids = [b["id"] for b in first["results"] + second["results"]]
    assert len(set(ids)) == 60 and ids[:50] == sorted(ids[:50])
