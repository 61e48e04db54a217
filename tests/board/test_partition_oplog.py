"""
`manage.py partition_oplog` (board/partitioning.py): board_op rebuilt hash-partitioned by board
while a writer keeps appending, and back into one table. Every op stays exactly once with its
bytes, the log's keys and reference triggers still hold, and ids go on where they were.

The test leaves board_op as one table again, as the rest of the suite expects it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction

from board.models import Board, Op
from board.oplog import append_ops
from board.partitioning import TABLE, partitions_now

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]

#: Ops per board before the rebuild, and boards.
OPS = 60
BOARDS = 6


def _rows() -> list[tuple[Any, ...]]:
    return list(
        Op.objects.order_by("board_id", "seq").values_list(
            "id", "board_id", "seq", "client_id", "client_op_id", "author_id", "payload"
        )
    )


def _keys() -> set[str]:
    """
    The names of board_op's constraints and triggers.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass UNION "
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [TABLE, TABLE],
        )
        return {str(name) for (name,) in cursor.fetchall()}


@pytest.fixture
def author(make_user: Any) -> Any:
    return make_user("bob")


@pytest.fixture
def boards(make_board: Any, user: Any, author: Any) -> Iterator[list[Board]]:
    if connection.vendor != "postgresql":
        pytest.skip("board_op is partitioned on PostgreSQL only")
    made = [make_board(user, title=f"b{k}") for k in range(BOARDS)]
    for board in made:
        ops = [{"i": i, "k": "clr"} for i in range(1, OPS + 1)]
        append_ops(board_id=board.id, author_id=author.pk, client_id="before", ops=ops)
    yield made
    if partitions_now():
        call_command("partition_oplog", "--partitions", "0", stdout=StringIO())


def _writer(boards: list[Board], author_id: int, stop: threading.Event) -> list[int]:
    """
    Append one op at a time to the boards in turn until `stop`; return the count per board.
    """
    counts = [0] * len(boards)
    try:
        while not stop.is_set():
            for k, board in enumerate(boards):
                op = {"i": counts[k] + 1, "k": "clr"}
                append_ops(board_id=board.id, author_id=author_id, client_id="during", ops=[op])
                counts[k] += 1
    finally:
        connections.close_all()
    return counts


def test_partitioning_while_writing_keeps_every_op_once(boards: list[Board], author: Any) -> None:
    before = _rows()
    keys = _keys()
    stop, counts = threading.Event(), []
    thread = threading.Thread(target=lambda: counts.extend(_writer(boards, author.pk, stop)))
    thread.start()
    out = StringIO()
    try:
        call_command("partition_oplog", "--partitions", "4", "--batch", "50", stdout=out)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert partitions_now() == 4
    text = out.getvalue()
    assert "rows copied" in text and "100%" in text and "swapped" in text, text
    assert sum(counts) > 0, "the writer never got to write"
    after = _rows()
    assert set(before) <= set(after), "an op stored before changed or went"
    for board, written in zip(boards, counts, strict=True):
        seqs = list(Op.objects.filter(board=board).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, OPS + written + 1)), f"{board.id}: gaps or doubles"
        assert Board.objects.values_list("head_seq", flat=True).get(pk=board.pk) == len(seqs)
    assert _keys() == keys, "constraints or triggers were lost or renamed"
    # Ids go on above the old ones, and the keys still refuse a second (board, client, op).
    top = max(row[0] for row in after)
    ops = [{"i": 1, "k": "clr"}]
    append_ops(board_id=boards[0].id, author_id=author.pk, client_id="after", ops=ops)
    assert Op.objects.get(client_id="after").id > top
    with pytest.raises(IntegrityError), transaction.atomic():
        Op.objects.create(
            board=boards[0], seq=10**6, client_id="after", client_op_id=1, kind="clr", payload=b""
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # the reference trigger
        Op.objects.create(board_id="gone", seq=1, client_id="x", client_op_id=1, kind="clr",
                          payload=b"")  # fmt: skip


def test_deletes_reach_the_partitions_and_the_way_back_keeps_everything(
    boards: list[Board], author: Any
) -> None:
    call_command("partition_oplog", "--partitions", "3", stdout=StringIO())
    with connection.cursor() as cursor:  # bypassing Django: the triggers of migration 0002
        cursor.execute("DELETE FROM board_membership WHERE board_id = %s", [boards[0].id])
        cursor.execute("DELETE FROM board_board WHERE id = %s", [boards[0].id])
    assert not Op.objects.filter(board_id=boards[0].id).exists()
    get_user_model().objects.filter(pk=author.pk).delete()
    assert set(Op.objects.values_list("author_id", flat=True)) == {None}
    kept = _rows()
    out = StringIO()
    call_command("partition_oplog", "--partitions", "0", stdout=out)
    assert partitions_now() == 0
    assert _rows() == kept
    call_command("partition_oplog", "--partitions", "0", stdout=out)
    assert "already one table" in out.getvalue()


def test_a_resend_to_a_partitioned_log_is_acked_with_its_seq(
    boards: list[Board], author: Any
) -> None:
    call_command("partition_oplog", "--partitions", "2", stdout=StringIO())
    ops = [{"i": i, "k": "clr"} for i in (1, 2)]
    first = append_ops(board_id=boards[1].id, author_id=author.pk, client_id="again", ops=ops)
    # The insert goes first and meets a partition's copy of the (board, client, op) key.
    again = append_ops(board_id=boards[1].id, author_id=author.pk, client_id="again", ops=ops)
    assert again.acks == first.acks and again.first_seq == 0
    assert Op.objects.filter(client_id="again").count() == 2


def test_bad_partition_counts_are_refused(boards: list[Board]) -> None:
    for value in ("1", "-2"):
        with pytest.raises(CommandError, match="at least 2"):
            call_command("partition_oplog", "--partitions", value, stdout=StringIO())
    with pytest.raises(CommandError, match="--partitions N"):
        call_command("partition_oplog", stdout=StringIO())
