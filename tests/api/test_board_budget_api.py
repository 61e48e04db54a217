"""
The API's half of a board's size budget (issue 15, finding 6): snapshots taken and restored are
rate-limited per user (429 with Retry-After), and a history page is bounded in bytes, not only in
ops (5,000 entries of 256 KiB would be 1.25 GiB in one response).
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from board.models import Op, Snapshot
from tests.support.factories import World
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db

STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}


def inkroom(settings: Any, **values: Any) -> None:
    settings.INKROOM = {**settings.INKROOM, **values}


def url(world: World, suffix: str) -> str:
    return f"/api/v1/boards/{world.board.id}/{suffix}"


def text(el_id: str, body: str) -> dict[str, Any]:
    return {"id": el_id, "type": "text", "x": 0, "y": 0, "size": 20, "text": body, "style": STYLE}


# --- snapshots ----------------------------------------------------------------------------


def test_thirty_snapshots_in_a_row_are_not_all_stored(world: World) -> None:
    # The finding, with the default rate (10 a minute per user).
    client = world.client("editor")
    codes = [
        client.post(url(world, "snapshots/"), {"label": f"s{n}"}, format="json").status_code
        for n in range(30)
    ]
    assert codes == [201] * 10 + [429] * 20
    assert (
        Snapshot.objects.filter(board=world.board, created_by=world.users["editor"]).count() == 10
    )


def test_snapshots_taken_and_restored_share_a_rate_per_user(world: World, settings: Any) -> None:
    inkroom(settings, SNAPSHOT_RATE="2/min")
    editor, owner = world.client("editor"), world.client("owner")
    take = url(world, "snapshots/")
    restore = url(world, f"snapshots/{world.snapshot.pk}/restore/")
    assert editor.post(take, {"label": "one"}, format="json").status_code == 201
    # Refused requests spend nothing: a malformed body, a viewer's attempt.
    assert editor.post(take, {"label": ""}, format="json").status_code == 400
    assert world.client("viewer").post(take, {"label": "v"}, format="json").status_code == 403
    assert editor.post(restore).status_code == 201
    refused = editor.post(take, {"label": "three"}, format="json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    assert editor.post(restore).status_code == 429
    # Per user: the owner has a rate of their own; reading is never limited.
    assert owner.post(take, {"label": "mine"}, format="json").status_code == 201
    assert editor.get(take).status_code == 200
    assert Op.objects.filter(board=world.board, kind="rst").count() == 1


def test_an_empty_snapshot_rate_is_no_limit(world: World, settings: Any) -> None:
    inkroom(settings, SNAPSHOT_RATE=None)
    client = world.client("editor")
    for n in range(12):
        response = client.post(url(world, "snapshots/"), {"label": f"s{n}"}, format="json")
        assert response.status_code == 201


# --- history pages ------------------------------------------------------------------------


def entry_sizes(world: World) -> dict[int, int]:
    rows = Op.objects.filter(board=world.board).values_list("seq", "payload")
    return {seq: len(bytes(payload)) for seq, payload in rows}


@pytest.mark.parametrize("accept", ["application/json", "application/msgpack"])
def test_a_history_page_stops_before_its_byte_bound_and_the_next_one_goes_on(
    world: World, settings: Any, accept: str
) -> None:
    texts = [{"k": "add", "el": text(f"t{n}", "x" * 1000)} for n in range(6)]
    add_ops(world.board, texts, client_id="writer")
    sizes = entry_sizes(world)  # seqs 1, 2: the world's two shapes; 3..8: ~1 KiB each
    bound = sizes[3] + sizes[4] + sizes[5]  # exactly three texts
    inkroom(settings, HISTORY_PAGE_BYTES=bound)
    client = world.client("viewer")

    def page(after: int) -> dict[str, Any]:
        response = client.get(url(world, "ops/"), {"after": after}, HTTP_ACCEPT=accept)
        assert response.status_code == 200
        body: dict[str, Any] = (
            msgpack.unpackb(response.content) if "msgpack" in accept else response.json()
        )
        return body

    pages, after = [], 0
    while ops := (body := page(after))["ops"]:
        seqs = [op["s"] for op in ops]
        pages.append(seqs)
        assert body["next_after"] == seqs[-1] and body["head_seq"] == 8
        # Within the bound, and full: the next entry would not have fitted.
        assert sum(sizes[s] for s in seqs) <= bound
        assert seqs[-1] == 8 or sum(sizes[s] for s in [*seqs, seqs[-1] + 1]) > bound
        after = body["next_after"]
    assert [s for seqs in pages for s in seqs] == list(range(1, 9)) and len(pages) == 3


def test_an_entry_above_the_byte_bound_is_a_page_alone(world: World, settings: Any) -> None:
    inkroom(settings, HISTORY_PAGE_BYTES=10)
    client = world.client("viewer")
    first = client.get(url(world, "ops/")).json()
    assert [op["s"] for op in first["ops"]] == [1] and first["next_after"] == 1
    second = client.get(url(world, "ops/"), {"after": 1, "limit": 5000}).json()
    assert [op["s"] for op in second["ops"]] == [2]


def test_the_default_page_holds_at_most_4_mib(world: World) -> None:
    # 120 texts of 10,000 four-byte characters: ~40 KiB each, 4.7 MiB in all.
    body = "\U0001f600" * 10_000
    for chunk in range(4):
        add_ops(
            world.board,
            [{"k": "add", "el": text(f"t{chunk}-{n}", body)} for n in range(30)],
            client_id=f"writer-{chunk}",
        )
    sizes = entry_sizes(world)
    assert sum(sizes.values()) > 4 * 2**20
    response = world.client("viewer").get(
        url(world, "ops/"), {"limit": 5000}, HTTP_ACCEPT="application/msgpack"
    )
    seqs = [op["s"] for op in msgpack.unpackb(response.content)["ops"]]
    assert sum(sizes[s] for s in seqs) <= 4 * 2**20 < sum(sizes[s] for s in [*seqs, seqs[-1] + 1])
    assert len(response.content) < 4 * 2**20 + 1024
