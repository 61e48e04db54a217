"""
board.timeline: a stroke's add and appends are one step, whoever draws in between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from board.oplog import append_ops
from board.timeline import board_timeline
from tests.support.elements import stroke

pytestmark = pytest.mark.django_db


def draw(
    board_id: str, client_id: str, author: Any, ops: list[dict[str, Any]], first_i: int
) -> None:
    numbered = [{"i": first_i + n, **op} for n, op in enumerate(ops)]
    append_ops(board_id=board_id, author_id=author.pk, client_id=client_id, ops=numbered)


def appends(el_id: str, n: int) -> list[dict[str, Any]]:
    return [{"k": "app", "id": el_id, "p": [k, k, k + 1, k + 1]} for k in range(n)]


def test_strokes_are_one_step_each_with_their_author(
    make_user: Callable[..., Any], make_board: Callable[..., Any]
) -> None:
    ann, ben = make_user("ann"), make_user("ben")
    board = make_board(ann)
    draw(board.id, "ann-tab-1", ann, [{"k": "add", "el": stroke("a1")}, *appends("a1", 3)], 1)
    # ben starts a stroke, ann starts another, and their appends interleave.
    draw(board.id, "ben-tab-1", ben, [{"k": "add", "el": stroke("b1")}], 1)
    draw(board.id, "ann-tab-1", ann, [{"k": "add", "el": stroke("a2")}], 5)
    draw(board.id, "ben-tab-1", ben, appends("b1", 2), 2)
    draw(board.id, "ann-tab-1", ann, appends("a2", 1), 6)
    draw(board.id, "ben-tab-1", ben, [{"k": "del", "ids": ["a1"]}], 4)

    with CaptureQueriesContext(connection) as queries:
        timeline = board_timeline(board_id=board.id, max_ops=100)
    assert len(queries) == 1
    assert not timeline.truncated
    steps = [(s.first_seq, s.seq, s.kind, s.ops, s.author) for s in timeline.steps]
    assert steps == [
        (1, 4, "add", 4, "ann"),
        (5, 8, "add", 3, "ben"),
        (6, 9, "add", 2, "ann"),
        (10, 10, "del", 1, "ben"),
    ]
    assert [s.at for s in timeline.steps] == sorted(s.at for s in timeline.steps)


def test_only_the_latest_ops_are_read(
    make_user: Callable[..., Any], make_board: Callable[..., Any]
) -> None:
    ann = make_user("ann")
    board = make_board(ann)
    draw(board.id, "ann-tab-1", ann, [{"k": "add", "el": stroke("a1")}, *appends("a1", 5)], 1)
    draw(board.id, "ann-tab-1", ann, [{"k": "add", "el": stroke("a2")}], 7)
    timeline = board_timeline(board_id=board.id, max_ops=3)
    assert timeline.truncated
    # The appends left in the window are a step of their own (their add is out of it).
    assert [(s.first_seq, s.seq, s.kind) for s in timeline.steps] == [(5, 6, "app"), (7, 7, "add")]
