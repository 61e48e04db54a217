"""
board.oplog's two storage paths (array parameters on PostgreSQL, the ORM elsewhere) keep one
contract: the same results, the same stored rows and bytes, duplicates acked with their seq.
"""

from __future__ import annotations

from typing import Any

import pytest

from board.models import Board, Op
from board.oplog import Submission, append_batches, append_ops, find_stored
from board.oplog import append as oplog_append
from board.oplog.orm import OrmStore
from board.oplog.postgres import PostgresStore, int_array, text_array
from tests.support.ops import append, stroke

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


def rounds(a: str, b: str, uid: int) -> list[dict[str, list[Submission]]]:
    """
    Three ticks over two boards: fresh ops, a resend mixed with new ops, an in-tick duplicate.
    """
    s1 = [
        Submission("client-aa", uid, stroke(1, "s1")),
        Submission("client-bb", None, append(1, "x")),
    ]
    s2 = [
        Submission("client-aa", uid, stroke(1, "s1")),
        Submission("client-aa", uid, append(2, "s1")),
    ]
    s3 = [Submission("client-cc", None, {"i": 5, "k": "clr"})] * 2
    return [{a: s1, b: s1[:1]}, {a: s2, b: s2}, {a: s3, "no-such-board": s3}]


def summary(result: Any) -> tuple[Any, ...]:
    return (
        result.first_seq,
        result.last_seq,
        result.entries,
        result.acks,
        result.duplicates,
        result.conflicts,
        result.missing,
    )


def rows(board: Board) -> list[tuple[Any, ...]]:
    query = Op.objects.filter(board=board).order_by("seq")
    return [
        (seq, c, i, u, k, bytes(p))
        for seq, c, i, u, k, p in query.values_list(
            "seq", "client_id", "client_op_id", "author_id", "kind", "payload"
        )
    ]


def orm_path(batches: dict[str, list[Submission]], monkeypatch: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(oplog_append, "choose_store", OrmStore)
        return append_batches(batches)


def test_postgres_path_matches_the_orm_path(make_board, user, monkeypatch):
    fast_a, fast_b = make_board(user, title="fa"), make_board(user, title="fb")
    slow_a, slow_b = make_board(user, title="sa"), make_board(user, title="sb")
    for fast_round, slow_round in zip(
        rounds(fast_a.id, fast_b.id, user.pk),
        rounds(slow_a.id, slow_b.id, user.pk),
        strict=True,
    ):
        fast = append_batches(fast_round)
        slow = orm_path(slow_round, monkeypatch)
        for (fb, fr), (sb, sr) in zip(fast.items(), slow.items(), strict=True):
            assert summary(fr) == summary(sr), (fb, sb)
    for fast_board, slow_board in ((fast_a, slow_a), (fast_b, slow_b)):
        assert rows(fast_board) == rows(slow_board)
        fast_board.refresh_from_db()
        slow_board.refresh_from_db()
        assert fast_board.head_seq == slow_board.head_seq == len(rows(fast_board))
    keys = [(fast_a.id, "client-aa", 1), (fast_a.id, "client-aa", 99), ("no-such", "x", 1)]
    assert {k: seq for k, (seq, _entry) in find_stored(keys).items()} == {
        (fast_a.id, "client-aa", 1): 1
    }


def test_duplicate_lookup_probes_the_index_instead_of_scanning_the_log(board, user):
    """
    The per-tick duplicate lookup must cost per key, not per stored op: a hash join over the
    whole log made every tick slower as the log grew.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the array-parameter path is PostgreSQL's")
    ops = [{"i": i, "k": "clr"} for i in range(1, 5001)]
    append_ops(board_id=board.id, author_id=user.pk, client_id="bulk", ops=ops)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Op._meta.db_table}")
        keys = [
            text_array([board.id] * 400),
            text_array(["bulk"] * 400),
            int_array(range(1, 401)),
        ]
        cursor.execute("EXPLAIN " + PostgresStore.EXISTING, keys)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan and "Index" in plan, plan


#: Client ids that need quoting or escaping in a PostgreSQL array literal.
AWKWARD_IDS = ['say "hi"', "back\\slash", "a,b{c}", "NULL", " padded ", "", '\\"', "ünï ✓"]


def test_array_literals_round_trip_awkward_strings(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the array literals are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[]",
            [
                text_array(AWKWARD_IDS),
                text_array(["plain", "ids"]),
                text_array([]),
                int_array([-(2**63), 0, 7, 2**63 - 1]),
            ],
        )
        assert cursor.fetchone() == (AWKWARD_IDS, ["plain", "ids"], [], [-(2**63), 0, 7, 2**63 - 1])


def test_awkward_client_ids_are_stored_and_resends_found_on_both_paths(
    make_board, user, monkeypatch
):
    """
    The PostgreSQL path quotes ids into array literals itself; a mistake there would miss a
    duplicate (and fail the insert on the unique key) or store the wrong client id.
    """
    fast, slow = make_board(user, title="fast"), make_board(user, title="slow")

    def tick(board: Board, i: int) -> dict[str, list[Submission]]:
        return {board.id: [Submission(c, user.pk, append(i, "s1")) for c in AWKWARD_IDS]}

    for i in (1, 2):
        first, first_orm = append_batches(tick(fast, i)), orm_path(tick(slow, i), monkeypatch)
        assert summary(first[fast.id]) == summary(first_orm[slow.id])
    again = append_batches({fast.id: tick(fast, 1)[fast.id] + tick(fast, 3)[fast.id]})[fast.id]
    n = len(AWKWARD_IDS)
    assert again.duplicates == {(c, 1) for c in AWKWARD_IDS}
    assert {c: again.acks[(c, 1)] for c in AWKWARD_IDS} == {
        c: k + 1 for k, c in enumerate(AWKWARD_IDS)
    }
    assert (again.first_seq, again.last_seq) == (2 * n + 1, 3 * n)
    assert rows(fast)[: 2 * n] == rows(slow)
    found = find_stored([(fast.id, c, 2) for c in AWKWARD_IDS])
    assert {k: seq for k, (seq, _entry) in found.items()} == {
        (fast.id, c, 2): n + k + 1 for k, c in enumerate(AWKWARD_IDS)
    }


def test_a_key_held_by_another_authors_or_another_op_is_a_conflict_on_both_paths(
    make_board, user, make_user, monkeypatch
):
    """
    A client id is public: whoever stored under it first must not have the writer's own ops
    acknowledged as resends of theirs (docs/protocol.md §1). The same op by the same author
    stays a resend; another author's op, or another op (anonymous writers have no author), is
    a conflict: not stored, not acknowledged.
    """
    mallory = make_user("mallory-paths")
    fast, slow = make_board(user, title="fast"), make_board(user, title="slow")

    def squat(board: Board) -> dict[str, list[Submission]]:
        return {
            board.id: [
                Submission("victim-01", mallory.pk, stroke(1, "m1")),
                Submission("victim-01", None, stroke(2, "m2")),
                Submission("victim-01", user.pk, stroke(3, "v3")),
            ]
        }

    def resend(board: Board) -> dict[str, list[Submission]]:
        return {
            board.id: [
                Submission("victim-01", user.pk, stroke(1, "m1")),  # the same op, another author
                Submission("victim-01", None, stroke(2, "v2")),  # anonymous, another op
                Submission("victim-01", user.pk, stroke(3, "v3")),  # a true resend
                Submission("victim-01", user.pk, stroke(4, "v4")),  # new
            ]
        }

    append_batches(squat(fast))
    orm_path(squat(slow), monkeypatch)
    # PostgreSQL inserts first (no resend seen lately): the unique key sends it to the probe.
    monkeypatch.setattr(oplog_append.resends.RESENDS, "probes_left", 0)
    got, got_orm = (
        append_batches(resend(fast))[fast.id],
        orm_path(resend(slow), monkeypatch)[slow.id],
    )
    for result in (got, got_orm):
        assert result.conflicts == {("victim-01", 1), ("victim-01", 2)}
        assert result.duplicates == {("victim-01", 3)}
        assert result.acks == {("victim-01", 3): 3, ("victim-01", 4): 4}
        assert (result.first_seq, result.last_seq) == (4, 4)
    assert [r[:4] for r in rows(fast)] == [
        (1, "victim-01", 1, mallory.pk),
        (2, "victim-01", 2, None),
        (3, "victim-01", 3, user.pk),
        (4, "victim-01", 4, user.pk),
    ]
