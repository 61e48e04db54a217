"""
The Django admin for boards renders, and keeps the op log read-only.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world: World) -> Client:
    admin = get_user_model().objects.create_superuser("root", password="admin-password-1")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/board/board/",
        "/admin/board/board/{board_pk}/change/",
        "/admin/board/snapshot/",
        "/admin/board/snapshot/{snapshot}/change/",
        "/admin/board/op/",
        "/admin/board/op/?q={board}",
    ],
)
def test_admin_pages_render(staff: Client, world: World, path: str) -> None:
    # Admin URLs carry pks through admin.utils.quote ("_" is its escape character): a random
    # board id with "_5F" in it would otherwise name another board.
    url = path.format(
        board=world.board.id, board_pk=quote(world.board.id), snapshot=world.snapshot.pk
    )
    assert staff.get(url).status_code == 200


def test_ops_cannot_be_added_changed_or_deleted(staff: Client, world: World) -> None:
    op: Any = world.board.ops.first()
    assert staff.get("/admin/board/op/add/").status_code == 403
    assert staff.post(f"/admin/board/op/{op.pk}/delete/", {"post": "yes"}).status_code == 403
    assert world.board.ops.count() == 2
