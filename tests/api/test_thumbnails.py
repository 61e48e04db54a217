"""
GET boards/{id}/thumbnail/: a 320 x 200 PNG of the board at its head, for anyone with a role,
rendered once per head and revalidated by ETag.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from board.export import get_exporter
from tests.support.elements import rect
from tests.support.factories import World
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def thumbnail(client: Any, world: World, **headers: str) -> Any:
    return client.get(f"/api/v1/boards/{world.board.id}/thumbnail/", **headers)


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", body[16:24])  # the IHDR chunk comes first
    return width, height


def test_a_png_of_the_board_revalidated_by_etag(world: World) -> None:
    viewer = world.client("viewer")
    stats = get_exporter().stats
    renders = stats.renders
    first = thumbnail(viewer, world)
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert png_size(first.content) == (320, 200)
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
    etag = first["ETag"]

    # Unchanged: 304, nothing rendered; another caller gets the cached picture.
    again = thumbnail(viewer, world, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert thumbnail(world.client("owner"), world).content == first.content
    assert stats.renders == renders + 1

    # A change moves the head: a new ETag and a new picture.
    add_ops(world.board, [{"k": "add", "el": rect("r9", x=400, y=300)}], client_id="other-tab")
    changed = thumbnail(viewer, world, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.content != first.content


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("editor", 200),
        ("anon_share", 200),
        ("anon_link", 200),
        ("stranger", 404),
        ("anonymous", 401),
    ],
)
def test_it_follows_the_boards_roles(world: World, caller: str, status: int) -> None:
    assert thumbnail(world.client(caller), world).status_code == status


def test_a_board_above_the_budget_gets_a_json_422(world: World, settings: Any) -> None:
    settings.INKROOM = {**settings.INKROOM, "EXPORT_MAX_POINTS": 1}
    response = thumbnail(world.client("owner"), world)
    assert response.status_code == 422 and response.json()["code"] == "export_too_large"


def test_the_board_list_points_at_thumbnails_with_the_callers_share_token(world: World) -> None:
    (own,) = world.client("owner").get("/api/v1/boards/").json()["results"]
    assert own["thumbnail_url"] == f"/api/v1/boards/{world.board.id}/thumbnail/"
