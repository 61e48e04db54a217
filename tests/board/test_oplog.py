"""
The durable op log on PostgreSQL: gap-free, duplicate-free seqs under concurrent writers in
several threads and processes, idempotent resends, multi-board batches and range reads.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from board.models import Board, Op
from board.oplog import (
    Submission,
    append_batches,
    append_ops,
    decode_entry,
    ops_after,
    ops_between,
)
from board.oplog import resends as oplog_resends
from board.oplog.store import TOUCH_EVERY
from tests.board.oplog_worker import op_batches, run_in_process, run_threads

PROCESSES = 3
THREADS_PER_PROCESS = 2
PARENT_THREADS = 3
BATCHES, BATCH_SIZE = 12, 5
#: Spawning a process and setting Django up takes ~1.5 s on a loaded 2-core box.
SPAWN_TIMEOUT_SECS = 60


def _database_url() -> str:
    s = connection.settings_dict
    port = s.get("PORT") or 5432
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{port}/{s['NAME']}"


def _stored(board_id: str) -> list[tuple[int, str, int]]:
    return list(
        Op.objects.filter(board_id=board_id)
        .order_by("seq")
        .values_list("seq", "client_id", "client_op_id")
    )


def _concurrent_append(board_id: str) -> dict[str, list[tuple[int, int]]]:
    """
    Append from PROCESSES spawned processes (THREADS_PER_PROCESS threads each) and PARENT_THREADS
    threads here, all released at once by a barrier once every process is connected.
    """
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Barrier(PROCESSES + 1), ctx.Queue()
    procs = [
        ctx.Process(
            target=run_in_process,
            args=(
                _database_url(),
                board_id,
                [f"proc{p}-thread{t}" for t in range(THREADS_PER_PROCESS)],
                BATCHES,
                BATCH_SIZE,
                ready,
                results,
            ),
        )
        for p in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        try:
            ready.wait(timeout=SPAWN_TIMEOUT_SECS)
        except threading.BrokenBarrierError:
            pytest.fail(f"a writer process failed to start: {results.get(timeout=1)}")
        clients = [f"parent{t}" for t in range(PARENT_THREADS)]
        acks = run_threads(board_id, clients, BATCHES, BATCH_SIZE)
        for _ in procs:
            outcome = results.get(timeout=SPAWN_TIMEOUT_SECS)
            assert isinstance(outcome, dict), f"writer process failed: {outcome}"
            acks.update(outcome)
    finally:
        for proc in procs:
            proc.join(timeout=SPAWN_TIMEOUT_SECS)
    return acks


@pytest.mark.requires_postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_contiguous_seqs_and_resends_are_idempotent(
    make_board: Any, user: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("spawned processes cannot share SQLite's in-memory test database")
    board = make_board(user)
    acks = _concurrent_append(board.id)

    clients = PROCESSES * THREADS_PER_PROCESS + PARENT_THREADS
    total = clients * BATCHES * BATCH_SIZE
    rows = _stored(board.id)
    # The writers really overlapped: every process stored something before the parent's
    # threads were done (otherwise this test would only prove sequential appends).
    parent_last = max(seq for seq, c, _i in rows if c.startswith("parent"))
    for p in range(PROCESSES):
        assert min(seq for seq, c, _i in rows if c.startswith(f"proc{p}-")) < parent_last
    assert [seq for seq, _c, _i in rows] == list(range(1, total + 1))
    board.refresh_from_db()
    assert board.head_seq == total
    assert len(acks) == clients
    stored_seq = {(c, i): seq for seq, c, i in rows}
    for client_id, client_acks in acks.items():
        assert sorted(i for i, _s in client_acks) == list(range(1, BATCHES * BATCH_SIZE + 1))
        assert all(stored_seq[(client_id, i)] == seq for i, seq in client_acks)
        # One writer per client: its ops keep their submission order in the log.
        seqs = [seq for i, seq in sorted(client_acks)]
        assert seqs == sorted(seqs)

    # Every client resends everything at once (a reconnect storm): nothing new is stored and
    # every op is acked with its original seq.
    again = run_threads(board.id, list(acks), BATCHES, BATCH_SIZE)
    assert {c: sorted(a) for c, a in again.items()} == {c: sorted(a) for c, a in acks.items()}
    assert _stored(board.id) == rows
    board.refresh_from_db()
    assert board.head_seq == total
    connections.close_all()


@pytest.mark.django_db
def test_resend_mixed_with_new_ops_stores_only_new_ones(make_board: Any, user: Any) -> None:
    board = make_board(user)
    first, second = op_batches("c1", 2, 3)
    stored = append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=first)
    assert (stored.first_seq, stored.last_seq) == (1, 3)

    mixed = append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=first[1:] + second)
    assert (mixed.first_seq, mixed.last_seq) == (4, 6)
    assert mixed.duplicates == {("c1", 2), ("c1", 3)}
    assert mixed.acks == {("c1", 2): 2, ("c1", 3): 3, ("c1", 4): 4, ("c1", 5): 5, ("c1", 6): 6}
    assert [decode_entry(e)["i"] for e in mixed.entries] == [4, 5, 6]
    # Same client op id from another client is a different op.
    other = append_ops(board_id=board.id, author_id=None, client_id="c2", ops=first[:1])
    assert other.acks == {("c2", 1): 7}


@pytest.mark.django_db
def test_append_batches_sequences_each_board_independently(make_board: Any, user: Any) -> None:
    a, b, c = make_board(user, "A"), make_board(user, "B"), make_board(user, "C")
    append_ops(board_id=b.id, author_id=None, client_id="x", ops=op_batches("x", 1, 4)[0])
    batches = {
        a.id: [Submission("x", user.id, op) for op in op_batches("x", 1, 3)[0]],
        b.id: [Submission("y", None, op) for op in op_batches("y", 1, 2)[0]],
        c.id: [],
        "no-such-board": [Submission("x", None, op_batches("x", 1, 1)[0][0])],
    }
    results = append_batches(batches)

    assert (results[a.id].first_seq, results[a.id].last_seq) == (1, 3)
    assert (results[b.id].first_seq, results[b.id].last_seq) == (5, 6)
    assert (results[c.id].first_seq, results[c.id].last_seq) == (0, 0)
    assert results["no-such-board"].missing
    assert not results[c.id].missing
    assert not results["no-such-board"].acks
    heads = dict(Board.objects.values_list("id", "head_seq"))
    assert (heads[a.id], heads[b.id], heads[c.id]) == (3, 6, 0)
    entry = decode_entry(results[a.id].entries[0])
    assert (entry["s"], entry["c"], entry["u"], entry["i"], entry["k"]) == (
        1,
        "x",
        user.id,
        1,
        "add",
    )
    assert not Op.objects.filter(board_id="no-such-board").exists()


@pytest.mark.django_db
def test_range_reads_return_stored_entries_in_order(make_board: Any, user: Any) -> None:
    board = make_board(user)
    for batch in op_batches("c", 4, 5):
        append_ops(board_id=board.id, author_id=None, client_id="c", ops=batch)

    assert [s for s, _ in ops_after(board.id, 0)] == list(range(1, 21))
    assert [s for s, _ in ops_after(board.id, 7, limit=3)] == [8, 9, 10]
    assert [s for s, _ in ops_between(board.id, 5, 9)] == [6, 7, 8, 9]
    assert ops_after(board.id, 20) == []
    assert [decode_entry(p)["s"] for _s, p in ops_between(board.id, 0, 20)] == list(range(1, 21))


#: The wire entries of GOLDEN_OPS stored by client-aa without an author as seqs 1 and 2: the op's
#: keys in order (its own `c` overwritten in place), then `s`, `c` and `u`. Clients receive these
#: bytes as stored, so a change here is a protocol change.
GOLDEN_OPS = [
    {"i": 7, "k": "app", "id": "s1", "p": [1, -2, 300], "c": 9},
    {"i": 8, "k": "add", "el": {"id": "e", "type": "stroke", "x": -5000, "y": 70000,
     "style": {"color": "#1e1e1e", "width": 4, "opacity": 0.5, "fill": None}, "p": [0, 0]}},
]  # fmt: skip
GOLDEN_ENTRIES = [
    "87a16907a16ba3617070a26964a27331a1709301fecd012ca163a9636c69656e742d6161a17301a175c0",
    "86a16908a16ba3616464a2656c86a26964a165a474797065a67374726f6b65a178d1ec78a179ce00011170a5"
    "7374796c6584a5636f6c6f72a723316531653165a5776964746804a76f706163697479cb3fe0000000000000"
    "a466696c6cc0a170920000a17302a163a9636c69656e742d6161a175c0",
]


@pytest.mark.django_db
def test_stored_entries_are_the_documented_wire_bytes(make_board: Any, user: Any) -> None:
    board = make_board(user)
    result = append_ops(board_id=board.id, author_id=None, client_id="client-aa", ops=GOLDEN_OPS)

    assert [e.hex() for e in result.entries] == GOLDEN_ENTRIES
    assert [p.hex() for _s, p in ops_after(board.id, 0)] == GOLDEN_ENTRIES


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_ops_sent_at_once_by_several_writers_are_stored_once(
    make_board: Any, user: Any
) -> None:
    """
    A client's resend reaching several writers at once (a reconnect to another pod while the
    first still commits): the duplicate lookup runs after the board lock, so every writer but
    the first finds the ops stored, and none fails on the unique (board, client, op) key.
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database refuses concurrent writers")
    board = make_board(user)
    batches = op_batches("twin", 6, 5)
    writers = 4
    barrier = threading.Barrier(writers)
    acks: list[dict[tuple[str, int], int]] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=SPAWN_TIMEOUT_SECS)
            mine: dict[tuple[str, int], int] = {}
            for batch in batches:
                subs = [Submission("twin", None, op) for op in batch]
                mine.update(append_batches({board.id: subs})[board.id].acks)
            acks.append(mine)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]

    rows = _stored(board.id)
    assert [seq for seq, _c, _i in rows] == list(range(1, 31))
    assert sorted(i for _s, _c, i in rows) == list(range(1, 31))
    stored = {("twin", i): seq for seq, _c, i in rows}
    assert acks == [stored] * writers


@pytest.mark.requires_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("optimistic", [True, False])
def test_a_resend_is_found_whether_the_insert_goes_first_or_the_probe(
    make_board: Any, user: Any, optimistic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    On PostgreSQL the insert goes first while no resend was seen lately: a resend then hits the
    unique (board, client, op) key, the insert is undone and redone after the probe, and the
    next calls probe first. Either way the result and the log are the same.
    """
    if connection.vendor != "postgresql":
        pytest.skip("the optimistic insert is PostgreSQL's path")
    resends = oplog_resends.ResendWeather()
    resends.probes_left = 0 if optimistic else 3
    monkeypatch.setattr(oplog_resends, "RESENDS", resends)
    board = make_board(user)
    first, second = op_batches("c1", 2, 3)
    append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=first)
    assert resends.quiet() is optimistic  # nothing was resent yet

    mixed = append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=first[1:] + second)
    assert (mixed.first_seq, mixed.last_seq) == (4, 6)
    assert mixed.duplicates == {("c1", 2), ("c1", 3)}
    assert mixed.acks == {("c1", 2): 2, ("c1", 3): 3, ("c1", 4): 4, ("c1", 5): 5, ("c1", 6): 6}
    assert [decode_entry(e)["i"] for e in mixed.entries] == [4, 5, 6]
    assert [(s, decode_entry(p)["i"]) for s, p in ops_after(board.id, 0)] == [
        (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)
    ]  # fmt: skip
    assert Board.objects.get(id=board.id).head_seq == 6
    # The resend makes the next calls look duplicates up before inserting.
    assert resends.probes_left == resends.PESSIMISTIC_CALLS


@pytest.mark.django_db
@pytest.mark.parametrize("optimistic", [True, False])
def test_an_op_twice_in_one_batch_is_stored_once(
    make_board: Any, user: Any, optimistic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A client that resends an op before the first copy was committed can put it twice into one
    tick's batch: it is stored once, both copies are acked with its seq, and the head does not
    move past what was stored (the optimistic path claimed one seq per submission).
    """
    resends = oplog_resends.ResendWeather()
    resends.probes_left = 0 if optimistic else 3
    monkeypatch.setattr(oplog_resends, "RESENDS", resends)
    board = make_board(user)
    ops = op_batches("c1", 1, 3)[0]
    result = append_ops(
        board_id=board.id, author_id=user.id, client_id="c1", ops=[*ops[:2], ops[1], ops[2]]
    )
    assert (result.first_seq, result.last_seq) == (1, 3)
    assert result.acks == {("c1", 1): 1, ("c1", 2): 2, ("c1", 3): 3}
    assert [(seq, i) for seq, _c, i in _stored(board.id)] == [(1, 1), (2, 2), (3, 3)]
    assert Board.objects.get(id=board.id).head_seq == 3
    after = append_ops(
        board_id=board.id, author_id=user.id, client_id="c1", ops=op_batches("c1", 2, 3)[1]
    )
    assert (after.first_seq, after.last_seq) == (4, 6)


@pytest.mark.django_db
def test_drawing_keeps_updated_at_at_most_a_minute_stale(make_board: Any, user: Any) -> None:
    """
    A board's updated_at (its place in "recently changed first") moves with its ops, but at
    most once per TOUCH_EVERY: a drawn-on board is never more than that out of date.
    """
    board = make_board(user)
    stale = timezone.now() - TOUCH_EVERY - timedelta(seconds=5)
    Board.objects.filter(id=board.id).update(updated_at=stale)
    first, second = op_batches("c1", 2, 2)
    append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=first)
    touched = Board.objects.get(id=board.id).updated_at
    assert touched > stale + TOUCH_EVERY

    append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=second)
    board.refresh_from_db()
    assert board.head_seq == 4
    assert board.updated_at == touched  # fresh enough: the head moved, updated_at did not


@pytest.mark.django_db(transaction=True)
def test_an_author_deleted_while_drawing_does_not_fail_the_other_boards(make_board: Any) -> None:
    """
    A socket outlives its user's deletion. The log keeps a deleted author's ops without an
    author (SET_NULL); an op sent after the deletion is stored the same way instead of failing
    the transaction, and with it every other board of the tick.
    """
    users = get_user_model().objects
    owner, gone = users.create_user("owner"), users.create_user("gone")
    gone_id = gone.pk
    a, b = make_board(owner, "A"), make_board(owner, "B")
    gone.delete()
    results = append_batches(
        {
            a.id: [Submission("c-gone", gone_id, {"i": 1, "k": "clr"})],
            b.id: [Submission("c-owner", owner.pk, {"i": 1, "k": "clr"})],
        }
    )
    assert (results[a.id].last_seq, results[b.id].last_seq) == (1, 1)
    stored = dict(Op.objects.filter(board__in=[a, b]).values_list("client_id", "author_id"))
    assert stored == {"c-gone": None, "c-owner": owner.pk}
    assert decode_entry(results[a.id].entries[0])["u"] is None
