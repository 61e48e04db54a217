"""
Management commands: compact_boards snapshots what grew and says how far it got; board_set
changes a board from the shell and live sockets hear of it.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from board import models
from board.models import Board, Snapshot
from board.oplog import append_ops
from board.snapshots import snapshot_state, state_at


def strokes(board_id: str, count: int, start: int = 1) -> None:
    ops = [
        {
            "i": i,
            "k": "add",
            "el": {
                "id": f"s{i}",
                "type": "stroke",
                "x": i,
                "y": 0,
                "style": {"color": "#000000", "width": 2, "opacity": 1, "fill": None},
                "p": [0, 0, 1, 1],
            },
        }
        for i in range(start, start + count)
    ]
    append_ops(board_id=board_id, author_id=None, client_id="cmd-test", ops=ops)


@pytest.mark.django_db
def test_compact_boards_snapshots_only_boards_past_the_threshold(make_board: Any, user: Any):
    busy, quiet = make_board(user, title="busy"), make_board(user, title="quiet")
    strokes(busy.id, 30)
    strokes(quiet.id, 3)
    out = StringIO()
    call_command("compact_boards", "--min-ops", "10", stdout=out)
    assert "1 of 2 boards" in out.getvalue()
    assert "[1/1]" in out.getvalue() and "snapshot at seq 30 (30 elements)" in out.getvalue()
    snap = Snapshot.objects.get(board=busy)
    assert snapshot_state(snap).to_snapshot() == state_at(busy.id).to_snapshot()
    assert not Snapshot.objects.filter(board=quiet).exists()
    call_command("compact_boards", "--min-ops", "10", stdout=StringIO())
    assert Snapshot.objects.filter(board=busy).count() == 1  # nothing new since


@pytest.mark.django_db
def test_compact_boards_dry_run_changes_nothing(board: Any):
    strokes(board.id, 5)
    out = StringIO()
    call_command("compact_boards", "--min-ops", "1", "--dry-run", stdout=out)
    assert "(dry run)" in out.getvalue()
    assert not Snapshot.objects.exists()


@pytest.mark.django_db
def test_board_set_renames_and_refuses_bad_input(board: Any):
    out = StringIO()
    call_command("board_set", board.id, "--title", "Renamed", stdout=out)
    board.refresh_from_db()
    assert board.title == "Renamed" and "Renamed" in out.getvalue()
    with pytest.raises(CommandError, match="no board"):
        call_command("board_set", "missing-board", "--title", "x")
    with pytest.raises(CommandError, match="nothing to change"):
        call_command("board_set", board.id)
    with pytest.raises(CommandError, match="1 to 200"):
        call_command("board_set", board.id, "--title", "   ")


@pytest.mark.django_db
def test_board_set_takes_an_id_that_looks_like_an_option_after_a_double_dash(
    make_board: Any, user: Any
):
    # Boards made before new_board_id() skipped such ids keep them.
    make_board(user, id="-vLooksLikeAFlag")
    call_command("board_set", "--title", "Dashed", "--", "-vLooksLikeAFlag", stdout=StringIO())
    assert Board.objects.get(id="-vLooksLikeAFlag").title == "Dashed"


def test_new_board_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch):
    drawn = iter(["-vP2N5p2A0btJu3j", "-abcdefghijklmno", "Ab3_-defghijklmn"])
    monkeypatch.setattr(models.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert models.new_board_id() == "Ab3_-defghijklmn"


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["title", "board_id"])
def test_board_set_refuses_arguments_that_are_not_unicode_text(board: Any, which: str):
    # Python decodes undecodable argv bytes to lone surrogates (surrogateescape): "\xed\xa0\x80"
    # arrives as "\udced\udca0\udc80", which PostgreSQL cannot store or even compare.
    bad = "caf\udce9"
    args = [board.id if which == "title" else bad, "--title", bad if which == "title" else "ok"]
    with pytest.raises(CommandError, match="not valid text"):
        call_command("board_set", *args, stdout=StringIO())
    board.refresh_from_db()
    assert board.title == "Sketches"
