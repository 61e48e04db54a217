"""
GET boards/{id}/history/: the scrubber's steps with time and author, in a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from board.oplog import append_ops
from tests.support.elements import stroke
from tests.support.factories import World

pytestmark = pytest.mark.django_db


def history(client: Any, world: World) -> Any:
    return client.get(f"/api/v1/boards/{world.board.id}/history/")


def test_steps_have_time_and_author_and_a_stroke_is_one_step(world: World) -> None:
    editor = world.users["editor"]
    ops = [{"k": "add", "el": stroke("e1")}]
    ops += [{"k": "app", "id": "e1", "p": [k, k, 1, 1]} for k in range(30)]
    numbered = [{"i": n, **op} for n, op in enumerate(ops, start=1)]
    append_ops(board_id=world.board.id, author_id=editor.pk, client_id="editor-tab-1", ops=numbered)

    with CaptureQueriesContext(connection) as queries:
        response = history(world.client("viewer"), world)
    assert response.status_code == 200
    body = response.json()
    # The world's two unauthored adds, then the editor's stroke of 31 ops as one step.
    assert [(s["first_seq"], s["seq"], s["ops"]) for s in body["steps"]] == [
        (1, 1, 1),
        (2, 2, 1),
        (3, 33, 31),
    ]
    last = body["steps"][-1]
    assert last["author"] == {"id": editor.pk, "username": "editor"}
    assert last["at"].endswith("Z") and last["kind"] == "add"
    assert body["steps"][0]["author"] is None
    assert body["head_seq"] == 33 and body["truncated"] is False
    before = len(queries)

    more = [{"i": n, "k": "add", "el": stroke(f"m{n}")} for n in range(1, 200)]
    append_ops(board_id=world.board.id, author_id=editor.pk, client_id="editor-tab-2", ops=more)
    with CaptureQueriesContext(connection) as queries:
        assert len(history(world.client("viewer"), world).json()["steps"]) == 3 + 199
    assert len(queries) == before


def test_share_link_holders_may_read_it_and_strangers_may_not(world: World) -> None:
    assert history(world.client("anon_share"), world).status_code == 200
    assert history(world.client("stranger"), world).status_code == 404
