"""
The op log's references to its board and author hold without foreign key constraints: the
triggers of migration 0002 refuse ops that point nowhere, and deleting a board or a user does
what the model's on_delete says even when the delete bypasses Django.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction

from board.models import Board, Op
from board.oplog import Submission, append_batches, append_ops

#: How long the test waits for a database thread to block or finish (seconds).
WAIT_SECS = 10


def _op(board_id: str, author_id: int | None, i: int) -> Op:
    return Op(
        board_id=board_id,
        seq=i,
        client_id="c1",
        client_op_id=i,
        author_id=author_id,
        kind="clr",
        payload=b"\x80",
    )


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _draw(board: Board, author_id: int, client_id: str = "c1", count: int = 3) -> None:
    ops = [{"i": i, "k": "clr"} for i in range(1, count + 1)]
    append_ops(board_id=board.id, author_id=author_id, client_id=client_id, ops=ops)


@pytest.mark.django_db
def test_an_op_for_a_board_that_does_not_exist_is_refused(board: Board, user: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Op.objects.bulk_create([_op(board.id, user.pk, 1), _op("no-such-board", user.pk, 2)])
    assert not Op.objects.exists()  # the whole statement, not just the bad row


@pytest.mark.django_db
def test_an_op_by_a_user_that_does_not_exist_is_refused(board: Board, user: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Op.objects.bulk_create([_op(board.id, user.pk, 1), _op(board.id, 2**30, 2)])
    Op.objects.bulk_create([_op(board.id, None, 3)])  # no author is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Op.objects.filter(board=board).update(author_id=2**30)
    assert list(Op.objects.values_list("author_id", flat=True)) == [None]


@pytest.mark.django_db
def test_deleting_a_board_behind_djangos_back_deletes_its_ops(make_board: Any, user: Any) -> None:
    doomed, kept = make_board(user, "doomed"), make_board(user, "kept")
    _draw(doomed, user.pk)
    _draw(kept, user.pk)
    _raw("DELETE FROM board_membership WHERE board_id = %s", [doomed.id])
    _raw("DELETE FROM board_board WHERE id = %s", [doomed.id])
    assert not Op.objects.filter(board_id=doomed.id).exists()
    assert Op.objects.filter(board_id=kept.id).count() == 3


@pytest.mark.django_db
def test_deleting_a_user_behind_djangos_back_keeps_their_ops_without_author(
    board: Board, user: Any
) -> None:
    gone = get_user_model().objects.create_user("gone")
    _draw(board, gone.pk, "c-gone")
    _draw(board, user.pk, "c-owner")
    _raw(f"DELETE FROM {get_user_model()._meta.db_table} WHERE id = %s", [gone.pk])
    authors = dict(Op.objects.values_list("client_id", "author_id").distinct())
    assert authors == {"c-gone": None, "c-owner": user.pk}


@pytest.mark.django_db
def test_deleting_through_the_orm_still_cascades(board: Board, user: Any) -> None:
    _draw(board, user.pk)
    board.delete()
    assert not Op.objects.exists()


@pytest.mark.django_db
def test_a_referenced_board_id_cannot_change(board: Board, user: Any) -> None:
    _draw(board, user.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw("UPDATE board_board SET id = %s WHERE id = %s", ["renamed", board.id])
    assert Op.objects.filter(board_id=board.id).count() == 3


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_board_deleted_while_ops_are_being_stored_leaves_no_orphans(
    make_board: Any, user: Any
) -> None:
    """
    The insert holds its board FOR KEY SHARE until it commits: a delete that comes meanwhile
    waits for it, then removes the new ops with the board.
    """
    board = make_board(user)
    inserted, release, deleted = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def insert() -> None:
        try:
            with transaction.atomic():
                append_batches({board.id: [Submission("c1", user.pk, {"i": 1, "k": "clr"})]})
                inserted.set()
                release.wait(WAIT_SECS)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def delete() -> None:
        try:
            with transaction.atomic():
                _raw("DELETE FROM board_membership WHERE board_id = %s", [board.id])
                _raw("DELETE FROM board_board WHERE id = %s", [board.id])
            deleted.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=insert)
    writer.start()
    assert inserted.wait(WAIT_SECS)
    deleter = threading.Thread(target=delete)
    deleter.start()
    assert not deleted.wait(0.5), "the delete did not wait for the insert's lock"
    release.set()
    writer.join(WAIT_SECS)
    deleter.join(WAIT_SECS)
    assert not errors
    assert deleted.is_set()
    assert not Board.objects.filter(id=board.id).exists()
    assert not Op.objects.filter(board_id=board.id).exists()
