"""
The role matrix: every board endpoint against every kind of caller.

Reads are open to any role, including anonymous share-link holders and link-access visitors
(board, state, ops, exports only); writes need a signed-in caller with the right role. No role
means 404 when signed in and 401 when anonymous.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import CALLERS, World

#: Expected status per caller, in CALLERS order:
#: owner, editor, viewer, stranger, anonymous, anon_share (viewer link), anon_link (link: view).
OPEN_READ = (200, 200, 200, 404, 401, 200, 200)
MEMBER_READ = (200, 200, 200, 404, 401, 401, 401)

# (name, method, path under /api/v1/boards/{id}/, body, expected statuses)
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("board get", "get", "", None, OPEN_READ),
    ("board rename", "patch", "", {"title": "Renamed"}, (200, 200, 403, 404, 401, 401, 401)),
    (
        "board link access",
        "patch",
        "",
        {"link_access": "edit"},
        (200, 403, 403, 404, 401, 401, 401),
    ),
    ("board delete", "delete", "", None, (204, 403, 403, 404, 401, 401, 401)),
    ("socket ticket", "post", "socket-ticket/", None, (200, 200, 200, 404, 401, 401, 401)),
    ("members list", "get", "members/", None, MEMBER_READ),
    (
        "members add",
        "post",
        "members/",
        {"username": "stranger", "role": "editor"},
        (201, 403, 403, 404, 401, 401, 401),
    ),
    (
        "member role",
        "patch",
        "members/{target}/",
        {"role": "editor"},
        (200, 403, 403, 404, 401, 401, 401),
    ),
    ("member remove", "delete", "members/{target}/", None, (204, 403, 403, 404, 401, 401, 401)),
    ("share links list", "get", "share-links/", None, (200, 403, 403, 404, 401, 401, 401)),
    (
        "share link create",
        "post",
        "share-links/",
        {"role": "viewer"},
        (201, 403, 403, 404, 401, 401, 401),
    ),
    (
        "share link revoke",
        "delete",
        "share-links/{link}/",
        None,
        (204, 403, 403, 404, 401, 401, 401),
    ),
    ("snapshots list", "get", "snapshots/", None, MEMBER_READ),
    (
        "snapshot create",
        "post",
        "snapshots/",
        {"label": "mine"},
        (201, 201, 403, 404, 401, 401, 401),
    ),
    ("snapshot get", "get", "snapshots/{snapshot}/", None, MEMBER_READ),
    ("snapshot state", "get", "snapshots/{snapshot}/state/", None, MEMBER_READ),
    (
        "snapshot restore",
        "post",
        "snapshots/{snapshot}/restore/",
        None,
        (201, 201, 403, 404, 401, 401, 401),
    ),
    ("state", "get", "state/", None, OPEN_READ),
    ("state at seq", "get", "state/?seq=1", None, OPEN_READ),
    ("ops", "get", "ops/?after=0", None, OPEN_READ),
    ("export svg", "get", "export/svg/", None, OPEN_READ),
    ("export png", "get", "export/png/", None, OPEN_READ),
    ("export json", "get", "export/json/", None, OPEN_READ),
]

CASES = [
    pytest.param(method, path, body, caller, expected[i], id=f"{name}-{caller}")
    for name, method, path, body, expected in ENDPOINTS
    for i, caller in enumerate(CALLERS)
]


def board_path(world: World, path: str) -> str:
    filled = path.format(
        target=world.target.pk, link=world.view_link.pk, snapshot=world.snapshot.pk
    )
    return f"/api/v1/boards/{world.board.id}/{filled}"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "caller", "expected"), CASES)
def test_role_matrix(
    world: World, method: str, path: str, body: dict[str, Any] | None, caller: str, expected: int
) -> None:
    client = world.client(caller)
    response = getattr(client, method)(board_path(world, path), body, format="json")
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        error = response.json()
        assert set(error) >= {"message", "code", "extra"}
        assert error["code"] in {"not_found", "not_allowed", "not_authenticated"}
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("get", "state/"), ("get", "members/"), ("post", "snapshots/")],
)
def test_unknown_board_is_404_for_users_and_401_for_anonymous(
    world: World, method: str, path: str
) -> None:
    url = f"/api/v1/boards/no-such-board/{path}"
    body = {"label": "x"} if method == "post" else None
    assert getattr(world.client("owner"), method)(url, body, format="json").status_code == 404
    assert getattr(world.client("anonymous"), method)(url, body, format="json").status_code == 401


@pytest.mark.django_db
def test_link_access_lets_signed_in_strangers_read_but_not_list(world: World) -> None:
    client = world.client("stranger")
    world.board.link_access = "view"
    world.board.save()
    response = client.get(f"/api/v1/boards/{world.board.id}/")
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert client.get("/api/v1/boards/").json()["count"] == 0
    assert client.patch(f"/api/v1/boards/{world.board.id}/", {"title": "x"}).status_code == 403


@pytest.mark.django_db
def test_editor_share_link_gives_a_stranger_the_editor_role(world: World) -> None:
    link = world.board.share_links.create(role="editor", created_by=world.users["owner"])
    client = world.client("stranger")
    url = f"/api/v1/boards/{world.board.id}/snapshots/?share={link.token}"
    assert client.post(url, {"label": "via link"}, format="json").status_code == 201
    response = client.get(f"/api/v1/boards/{world.board.id}/", HTTP_X_SHARE_TOKEN=link.token)
    assert response.json()["role"] == "editor"


@pytest.mark.django_db
def test_revoked_and_expired_share_links_grant_nothing(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    expired = world.board.share_links.create(
        role="viewer", expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = world.client("anon_share")
    url = f"/api/v1/boards/{world.board.id}/"
    assert client.get(url).status_code == 200
    owner = world.client("owner")
    link_url = f"{url}share-links/{world.view_link.pk}/"
    assert owner.delete(link_url).status_code == 204
    # Refused as dead links (410), not as an unknown board: their holders were given it.
    revoked = client.get(url)
    assert revoked.status_code == 410 and revoked.json()["code"] == "share_link_revoked"
    gone = world.client("anonymous").get(url, {"share": expired.token})
    assert gone.status_code == 410 and gone.json()["code"] == "share_link_expired"
