"""
Share links as recipients meet them: labels and expiry, a clear refusal of a dead link, and
"Shared with me" in the board list for those who opened the board through a link.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone
from rest_framework.test import APIClient

from board.models import Board, Membership, Role, ShareLink, ShareLinkUse
from tests.support.factories import World

pytestmark = pytest.mark.django_db


def links_url(world: World) -> str:
    return f"/api/v1/boards/{world.board.id}/share-links/"


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def open_through(client: APIClient, board: Board, token: str) -> Any:
    """
    Open the board's socket with a share token, as a non-browser client does.
    """
    url = f"/api/v1/boards/{board.id}/socket-ticket/"
    return client.post(url, HTTP_X_SHARE_TOKEN=token)


def shared_with(client: APIClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/boards/", query)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_a_link_has_a_label_a_date_and_a_chosen_expiry(world: World) -> None:
    owner = world.client("owner")
    body = {"role": "viewer", "label": "  design review  ", "expires_in_hours": 24 * 7}
    link = owner.post(links_url(world), body, format="json").json()
    assert link["label"] == "design review"
    assert link["created_at"] is not None
    expires = ShareLink.objects.get(id=link["id"]).expires_at
    assert expires is not None
    assert abs(expires - timezone.now() - timedelta(days=7)) < timedelta(minutes=1)
    unlabelled = owner.post(links_url(world), {"role": "editor"}, format="json").json()
    assert unlabelled["label"] == "" and unlabelled["expires_at"] is None


def test_a_too_long_label_is_a_json_400(world: World) -> None:
    response = world.client("owner").post(
        links_url(world), {"role": "viewer", "label": "x" * 101}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "label" in body["errors"]


@pytest.mark.parametrize("caller", ["anonymous", "stranger"])
@pytest.mark.parametrize("dead", ["expired", "revoked"])
def test_a_dead_link_is_refused_with_a_clear_410(world: World, caller: str, dead: str) -> None:
    link = world.view_link
    if dead == "expired":
        link.expires_at = timezone.now() - timedelta(minutes=1)
    else:
        link.revoked_at = timezone.now()
    link.save()
    client = APIClient() if caller == "anonymous" else world.client(caller)
    response = client.get(f"/api/v1/boards/{world.board.id}/", HTTP_X_SHARE_TOKEN=link.token)
    assert response.status_code == 410
    body = response.json()
    assert body["code"] == f"share_link_{dead}"
    assert dead in body["message"] and "new one" in body["message"]
    # A token that never was a link here stays a plain "not found" (or "sign in").
    wrong = client.get(f"/api/v1/boards/{world.board.id}/", HTTP_X_SHARE_TOKEN="nope")
    assert wrong.status_code == (401 if caller == "anonymous" else 404)


def test_a_dead_link_does_not_hide_a_members_own_access(world: World) -> None:
    world.view_link.revoked_at = timezone.now()
    world.view_link.save()
    response = world.client("editor").get(
        f"/api/v1/boards/{world.board.id}/", HTTP_X_SHARE_TOKEN=world.view_link.token
    )
    assert response.status_code == 200 and response.json()["role"] == "editor"


def test_a_board_opened_through_a_link_is_shared_with_me_while_the_link_lives(
    world: World, make_user: Any, make_board: Any
) -> None:
    stranger = world.users["stranger"]
    client = as_user(stranger)
    own = make_board(stranger, title="Mine")
    assert [b["id"] for b in shared_with(client, shared="true")] == []

    assert open_through(client, world.board, world.view_link.token).status_code == 200
    (shared,) = shared_with(client, shared="true")
    assert shared["id"] == world.board.id and shared["role"] == "viewer"
    assert shared["url"] == f"/b/{world.board.id}/?share={world.view_link.token}"
    # Its thumbnail too is reached through the link.
    assert shared["thumbnail_url"].endswith(f"/thumbnail/?share={world.view_link.token}")
    assert client.get(shared["thumbnail_url"]).status_code == 200
    assert shared["owner"]["username"] == "owner"
    assert [b["id"] for b in shared_with(client, shared="false")] == [own.id]
    assert {b["id"] for b in shared_with(client)} == {own.id, world.board.id}
    # Opening it again records nothing new.
    open_through(client, world.board, world.view_link.token)
    assert ShareLinkUse.objects.filter(user=stranger).count() == 1

    # An editor link opened too: the stronger role, and its token.
    editor_link = ShareLink.objects.create(board=world.board, role=Role.EDITOR)
    open_through(client, world.board, editor_link.token)
    (shared,) = shared_with(client, shared="true")
    assert shared["role"] == "editor" and shared["url"].endswith(editor_link.token)

    # Dead links take the board out of the list.
    editor_link.revoked_at = timezone.now()
    editor_link.save()
    assert shared_with(client, shared="true")[0]["role"] == "viewer"
    world.view_link.expires_at = timezone.now() - timedelta(seconds=1)
    world.view_link.save()
    assert shared_with(client, shared="true") == []


def test_members_boards_are_shared_with_them_and_need_no_token(world: World) -> None:
    client = world.client("editor")
    (shared,) = shared_with(client, shared="true")
    assert shared["role"] == "editor" and shared["url"] == f"/b/{world.board.id}/"
    # A viewer member who opened an editor link edits through it.
    link = ShareLink.objects.create(board=world.board, role=Role.EDITOR)
    viewer = world.client("viewer")
    open_through(viewer, world.board, link.token)
    (shared,) = shared_with(viewer, shared="true")
    assert shared["role"] == "editor" and shared["url"].endswith(link.token)
    assert shared_with(world.client("owner"), shared="true") == []


def test_shared_must_be_a_boolean(world: World) -> None:
    response = world.client("owner").get("/api/v1/boards/", {"shared": "perhaps"})
    assert response.status_code == 400 and "shared" in response.json()["errors"]


def test_the_board_page_records_the_use_and_says_when_a_link_is_dead(world: World) -> None:
    browser = DjangoClient(HTTP_HOST="127.0.0.1")
    browser.force_login(world.users["stranger"])
    page = f"/b/{world.board.id}/?share={world.view_link.token}"
    assert browser.get(page).status_code == 200
    assert ShareLinkUse.objects.filter(user=world.users["stranger"]).exists()

    world.view_link.expires_at = timezone.now() - timedelta(seconds=1)
    world.view_link.save()
    expired = browser.get(page)
    assert expired.status_code == 410
    assert b"This share link has expired" in expired.content
    # A member is let in: the dead link was not their only way.
    Membership.objects.create(board=world.board, user=world.users["stranger"], role=Role.VIEWER)
    assert browser.get(page).status_code == 200
