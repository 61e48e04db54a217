"""
Snapshots over the API: take, list, read, read state (JSON and msgpack) and restore.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from board.document import materialize
from board.models import Op, Snapshot
from board.oplog import decode_entry, ops_after
from board.snapshots import snapshot_state, state_at
from tests.support.elements import rect, stroke
from tests.support.factories import World
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db


def snaps_url(world: World, suffix: str = "") -> str:
    return f"/api/v1/boards/{world.board.id}/snapshots/{suffix}"


def test_take_a_manual_snapshot_at_head(world: World) -> None:
    add_ops(world.board, [{"k": "add", "el": rect("r2", 100, 100)}], client_id="second-client")
    response = world.client("editor").post(snaps_url(world), {"label": " Before "}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "seq", "label", "kind", "element_count", "created_by", "created_at"}
    assert body["seq"] == 3 and body["label"] == "Before" and body["kind"] == "manual"
    assert body["element_count"] == 3
    assert body["created_by"] == {"id": world.users["editor"].pk, "username": "editor"}


@pytest.mark.parametrize(
    "body", [{}, {"label": ""}, {"label": "x" * 201}, {"label": {"nested": 1}}]
)
def test_take_snapshot_rejects_bad_input(world: World, body: dict[str, Any]) -> None:
    response = world.client("owner").post(snaps_url(world), body, format="json")
    assert response.status_code == 400 and "label" in response.json()["errors"]


def test_list_and_retrieve(world: World) -> None:
    world.client("owner").post(snaps_url(world), {"label": "later"}, format="json")
    client = world.client("viewer")
    page = client.get(snaps_url(world)).json()
    assert page["count"] == 2
    assert [s["label"] for s in page["results"]] == ["later", "two shapes"]
    one = client.get(snaps_url(world, f"{world.snapshot.pk}/")).json()
    assert one["seq"] == 2 and one["label"] == "two shapes"
    assert client.get(snaps_url(world, "999999/")).status_code == 404


def test_snapshot_of_another_board_is_404(world: World, make_board: Any) -> None:
    other = make_board(world.users["owner"], "Other")
    foreign = Snapshot.objects.create(board=other, seq=0, state=world.snapshot.state)
    client = world.client("owner")
    for suffix in ["", "state/", "restore/"]:
        method = client.post if suffix == "restore/" else client.get
        assert method(snaps_url(world, f"{foreign.pk}/{suffix}")).status_code == 404


def test_snapshot_state_json_and_msgpack(world: World) -> None:
    client = world.client("viewer")
    url = snaps_url(world, f"{world.snapshot.pk}/state/")
    as_json = client.get(url)
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json() == {"seq": 2, "elements": [stroke("s1"), rect("r1")]}
    packed = client.get(url, HTTP_ACCEPT="application/msgpack")
    assert packed["Content-Type"] == "application/msgpack"
    assert msgpack.unpackb(packed.content) == as_json.json()
    refused = client.get(url, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 406 and refused.json()["code"] == "not_acceptable"


def test_restore_appends_one_rst_op_and_state_equals_the_snapshot(
    world: World,
    hub_events: Callable[[], list[dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    add_ops(
        world.board,
        [{"k": "del", "ids": ["s1"]}, {"k": "add", "el": rect("r9", 5, 5)}],
        client_id="later-client",
    )
    before = state_at(world.board.id)
    assert list(before.elements) == ["r1", "r9"]
    client = world.client("editor")
    url = snaps_url(world, f"{world.snapshot.pk}/restore/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("seq", "restored_from")} == {"seq": 5, "restored_from": 2}
    # The board as it was just before is kept: restoring that snapshot undoes this restore.
    kept = Snapshot.objects.get(pk=body["undo_snapshot"])
    assert (kept.seq, kept.kind, kept.label) == (
        4,
        "manual",
        f"Before restoring “{world.snapshot.label or 'seq 2'}”",
    )
    assert snapshot_state(kept).elements == before.elements
    op = Op.objects.get(board=world.board, seq=5)
    assert (op.kind, op.client_id, op.author_id) == ("rst", "server", world.users["editor"].pk)
    entry = decode_entry(bytes(op.payload))
    assert entry["from"] == 2 and entry["els"] == [stroke("s1"), rect("r1")]
    # History is append-only: the ops the restore overrides are still in the log.
    assert Op.objects.filter(board=world.board).count() == 5
    after = client.get(f"/api/v1/boards/{world.board.id}/state/").json()
    assert after == {"seq": 5, "elements": [stroke("s1"), rect("r1")]}
    # Replay invariant: the state before plus the appended op equals the state loaded fresh.
    appended = [decode_entry(payload) for _, payload in ops_after(world.board.id, before.seq)]
    assert materialize(before, appended) == state_at(world.board.id)
    assert hub_events() == [
        {"type": "board.event", "kind": "ops", "board": world.board.id, "first": 5, "last": 5}
    ]


def test_restoring_twice_appends_two_distinct_ops(world: World) -> None:
    client = world.client("owner")
    url = snaps_url(world, f"{world.snapshot.pk}/restore/")
    seqs = [client.post(url).json()["seq"] for _ in range(2)]
    assert seqs == [3, 4]
    ids = Op.objects.filter(board=world.board, client_id="server").values_list(
        "client_op_id", flat=True
    )
    assert len(set(ids)) == 2
