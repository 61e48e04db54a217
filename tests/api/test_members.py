"""
Members and share links over the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from board.models import Membership, ShareLink
from tests.support.factories import World

pytestmark = pytest.mark.django_db


def members_url(world: World, user_id: int | None = None) -> str:
    base = f"/api/v1/boards/{world.board.id}/members/"
    return f"{base}{user_id}/" if user_id is not None else base


def test_list_members_owner_first(world: World) -> None:
    body = world.client("viewer").get(members_url(world)).json()
    assert [(m["user"]["username"], m["role"]) for m in body] == [
        ("owner", "owner"),
        ("editor", "editor"),
        ("target", "viewer"),
        ("viewer", "viewer"),
    ]
    assert set(body[0]) == {"user", "role", "created_at"}


def test_add_change_and_remove_a_member_publishes_access_changes(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner, stranger = world.client("owner"), world.users["stranger"]
    with django_capture_on_commit_callbacks(execute=True):
        added = owner.post(
            members_url(world), {"username": "stranger", "role": "viewer"}, format="json"
        )
        changed = owner.patch(members_url(world, stranger.pk), {"role": "editor"}, format="json")
        removed = owner.delete(members_url(world, stranger.pk))
    assert added.status_code == 201
    assert added.json()["user"] == {"id": stranger.pk, "username": "stranger"}
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    assert removed.status_code == 204
    assert not Membership.objects.filter(board=world.board, user=stranger).exists()
    access = {"type": "board.event", "kind": "access", "board": world.board.id, "user": stranger.pk}
    assert hub_events() == [access, access, access]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "role": "viewer"}, "username"),
        ({"username": "editor", "role": "viewer"}, "username"),
        ({"username": "owner", "role": "editor"}, "username"),
        ({"username": "stranger", "role": "owner"}, "role"),
        ({"username": "stranger"}, "role"),
        ({"role": "viewer"}, "username"),
    ],
)
def test_add_member_rejects_bad_input(world: World, body: dict[str, Any], field: str) -> None:
    response = world.client("owner").post(members_url(world), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("body", [{"role": "owner"}, {"role": ""}, {}])
def test_change_role_rejects_bad_input(world: World, body: dict[str, Any]) -> None:
    response = world.client("owner").patch(members_url(world, world.target.pk), body, format="json")
    assert response.status_code == 400 and "role" in response.json()["errors"]


def test_the_owner_membership_cannot_change(world: World) -> None:
    owner = world.client("owner")
    url = members_url(world, world.users["owner"].pk)
    patched = owner.patch(url, {"role": "viewer"}, format="json")
    assert patched.status_code == 403 and patched.json()["code"] == "not_allowed"
    assert owner.delete(url).status_code == 403


def test_unknown_member_is_404(world: World) -> None:
    owner = world.client("owner")
    url = members_url(world, world.users["stranger"].pk)
    assert owner.patch(url, {"role": "viewer"}, format="json").status_code == 404
    response = owner.delete(url)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def links_url(world: World, link_id: int | None = None) -> str:
    base = f"/api/v1/boards/{world.board.id}/share-links/"
    return f"{base}{link_id}/" if link_id is not None else base


def test_create_list_and_revoke_share_links(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner = world.client("owner")
    response = owner.post(
        links_url(world), {"role": "editor", "expires_in_hours": 2}, format="json"
    )
    assert response.status_code == 201
    link = response.json()
    assert set(link) == {
        "id",
        "token",
        "role",
        "label",
        "url",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    assert link["role"] == "editor" and link["revoked_at"] is None
    assert link["url"] == f"/b/{world.board.id}/?share={link['token']}"
    stored = ShareLink.objects.get(id=link["id"])
    assert stored.expires_at is not None
    assert abs((stored.expires_at - timezone.now()) - timedelta(hours=2)) < timedelta(minutes=1)
    no_expiry = owner.post(links_url(world), {"role": "viewer"}, format="json").json()
    assert no_expiry["expires_at"] is None
    listed = owner.get(links_url(world)).json()
    assert [item["id"] for item in listed] == [no_expiry["id"], link["id"], world.view_link.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(links_url(world, link["id"])).status_code == 204
        # Revoking twice is harmless and publishes once.
        assert owner.delete(links_url(world, link["id"])).status_code == 204
    assert ShareLink.objects.get(id=link["id"]).revoked_at is not None
    assert owner.get(links_url(world)).json()[1]["revoked_at"] is not None
    assert hub_events() == [
        {"type": "board.event", "kind": "access", "board": world.board.id, "user": None}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({}, "role"),
        ({"role": "viewer", "expires_in_hours": 0}, "expires_in_hours"),
        ({"role": "viewer", "expires_in_hours": 24 * 366}, "expires_in_hours"),
        ({"role": "viewer", "expires_in_hours": "soon"}, "expires_in_hours"),
    ],
)
def test_create_share_link_rejects_bad_input(
    world: World, body: dict[str, Any], field: str
) -> None:
    response = world.client("owner").post(links_url(world), body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_revoking_an_unknown_or_foreign_link_is_404(world: World, make_board: Any) -> None:
    other = make_board(world.users["owner"], "Other")
    foreign = ShareLink.objects.create(board=other, role="viewer")
    owner = world.client("owner")
    assert owner.delete(links_url(world, foreign.pk)).status_code == 404
    assert owner.delete(links_url(world, 999999)).status_code == 404
    assert ShareLink.objects.get(pk=foreign.pk).revoked_at is None
