"""
Restores racing each other and a socket writer on PostgreSQL: every restore gets its own op and
seq, the log stays gap-free, and the server's op ids never collide (a collision would make the
op log treat a restore as a duplicate and silently drop it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from board import services
from board.models import Op, Snapshot
from board.oplog import append_ops
from board.snapshots import create_snapshot
from tests.support.elements import rect

RESTORERS = 4
RESTORES_EACH = 3
WRITER_OPS = 20


def _in_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_restores_and_writes_keep_the_log_gap_free(make_user: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrent writers are what this checks; needs PostgreSQL")
    owner = make_user("owner")
    board = services.board_create(owner=owner, title="Race")
    append_ops(
        board_id=board.id,
        author_id=None,
        client_id="seed-client",
        ops=[{"i": 1, "k": "add", "el": rect("r1")}],
    )
    snapshot = create_snapshot(board.id, label="seed", kind="manual")

    def restore_many() -> None:
        snap = Snapshot.objects.get(pk=snapshot.pk)
        for _ in range(RESTORES_EACH):
            services.snapshot_restore(snapshot=snap, author=owner)

    def write() -> None:
        for n in range(WRITER_OPS):
            op = {"i": n + 1, "k": "mov", "ids": ["r1"], "dx": 1, "dy": 1}
            append_ops(board_id=board.id, author_id=None, client_id="writer-client", ops=[op])

    errors: list[BaseException] = []
    threads = [_in_thread(restore_many, errors) for _ in range(RESTORERS)]
    threads.append(_in_thread(write, errors))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    seqs = list(Op.objects.filter(board=board).order_by("seq").values_list("seq", flat=True))
    total = 1 + RESTORERS * RESTORES_EACH + WRITER_OPS
    assert seqs == list(range(1, total + 1))
    server_ids = list(
        Op.objects.filter(board=board, client_id="server").values_list("client_op_id", flat=True)
    )
    assert len(server_ids) == len(set(server_ids)) == RESTORERS * RESTORES_EACH
    board.refresh_from_db()
    assert board.head_seq == total
