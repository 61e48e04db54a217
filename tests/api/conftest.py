"""
API fixtures: a board with one user per role, share links, ops and a snapshot, and a client
factory for each kind of caller in the role matrix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from board import services
from board.models import Board, LinkAccess, Membership, Role, ShareLink, Snapshot, SnapshotKind
from board.oplog import append_ops
from realtime.cluster.fanout import PODS_GROUP

#: The callers of the role matrix.
CALLERS = ["owner", "editor", "viewer", "stranger", "anonymous", "anon_share", "anon_link"]


def stroke(el_id: str, x: int = 10, y: int = 20) -> dict[str, Any]:
    return {
        "id": el_id,
        "type": "stroke",
        "x": x,
        "y": y,
        "style": {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None},
        "p": [0, 0, 3, 1, 2, 2],
    }


def rect(el_id: str, x: int = 0, y: int = 0) -> dict[str, Any]:
    return {
        "id": el_id,
        "type": "rect",
        "x": x,
        "y": y,
        "w": 40,
        "h": 30,
        "style": {"color": "#ff0000", "width": 2, "opacity": 1, "fill": "#00ff00"},
    }


@dataclass
class World:
    board: Board
    users: dict[str, Any]
    target: Any
    view_link: ShareLink
    snapshot: Snapshot

    def client(self, caller: str) -> APIClient:
        """
        Return an APIClient acting as `caller` (one of CALLERS).
        """
        client = APIClient()
        if caller in self.users:
            client.force_authenticate(user=self.users[caller])
        elif caller == "anon_share":
            client.credentials(HTTP_X_SHARE_TOKEN=self.view_link.token)
        elif caller == "anon_link":
            Board.objects.filter(id=self.board.id).update(link_access=LinkAccess.VIEW)
        return client


def add_ops(board: Board, ops: list[dict[str, Any]], client_id: str = "test-client") -> int:
    """
    Append ops to the log as a socket would (after validation); return the last seq.
    """
    numbered = [{"i": n, **op} for n, op in enumerate(ops, start=1)]
    return append_ops(board_id=board.id, author_id=None, client_id=client_id, ops=numbered).last_seq


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
