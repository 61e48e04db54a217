"""
API fixtures: `world`, a board with one user per role, a share link, ops and a snapshot
(tests.support.factories.World, whose `client` acts as each caller of the role matrix), and a
listener on the channel layer for what services publish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from board import services
from board.models import Membership, Role, ShareLink, Snapshot, SnapshotKind
from realtime.cluster.fanout import PODS_GROUP
from tests.support.elements import rect, stroke
from tests.support.factories import World
from tests.support.store import add_ops


@pytest.fixture
def world(make_user: Callable[..., Any]) -> World:
    owner = make_user("owner")
    board = services.board_create(owner=owner, title="Team sketch")
    users = {"owner": owner}
    for role in (Role.EDITOR, Role.VIEWER):
        users[role.value] = make_user(role.value)
        Membership.objects.create(board=board, user=users[role.value], role=role)
    users["stranger"] = make_user("stranger")
    target = make_user("target")
    Membership.objects.create(board=board, user=target, role=Role.VIEWER)
    view_link = ShareLink.objects.create(board=board, role=Role.VIEWER, created_by=owner)
    add_ops(board, [{"k": "add", "el": stroke("s1")}, {"k": "add", "el": rect("r1")}])
    state = {"v": 1, "s": 2, "els": [stroke("s1"), rect("r1")]}
    snapshot = Snapshot.objects.create(
        board=board,
        seq=2,
        state=msgpack.packb(state),
        element_count=2,
        label="two shapes",
        kind=SnapshotKind.MANUAL,
        created_by=owner,
    )
    board.refresh_from_db()
    return World(board, users, target, view_link, snapshot)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    # PBKDF2 at Django's default work factor costs ~0.3 s per user; the matrix makes thousands.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


async def _drain(layer: Any, channel: str, wait_secs: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        try:
            events.append(await asyncio.wait_for(layer.receive(channel), wait_secs))
        except TimeoutError:
            return events


@pytest.fixture
def hub_events() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """
    Listen on the channel layer group every hub listens on; call the result to collect what
    services published (the real layer named by REDIS_URL).
    """
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(PODS_GROUP, channel)

    def collect() -> list[dict[str, Any]]:
        # 0.3 s of silence ends the collection; publishing happens synchronously on commit.
        return async_to_sync(_drain)(layer, channel, 0.3)

    yield collect
    async_to_sync(layer.group_discard)(PODS_GROUP, channel)
