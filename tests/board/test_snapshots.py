"""
Snapshots: state_at from any snapshot equals a full replay of the log, compaction policy, and
the load time of a large board.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

from board.document import BoardState, Limits, apply_in_place, materialize, validate_op
from board.exceptions import BoardNotFound
from board.models import Board, Snapshot, SnapshotKind
from board.oplog import append_ops, decode_entry, ops_after
from board.snapshots import (
    create_snapshot,
    decode_snapshot,
    encode_snapshot,
    head_and_snapshot,
    latest_snapshot,
    should_snapshot,
    snapshot_state,
    state_at,
    state_load,
)

pytestmark = pytest.mark.django_db
STYLE = {"color": "#1e1e1e", "width": 3, "opacity": 1, "fill": None}
IDS = ["a", "b", "c", "d", "e"]


def scripted_ops(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """
    Return n structurally valid ops of every client kind over a small id pool (many are stale).
    """
    rnd = random.Random(seed)
    ops: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        kind = rnd.choice(
            ["add", "add", "app", "app", "upd", "mov", "del", "clr"] if i % 20 else ["clr"]
        )
        el_id = rnd.choice(IDS)
        if kind == "add":
            body: dict[str, Any] = {
                "el": {
                    "id": el_id,
                    "type": "stroke",
                    "x": i,
                    "y": -i,
                    "style": STYLE,
                    "p": [0, 0, 1, 2],
                }
            }
            if rnd.random() < 0.5:
                body["el"] = {
                    "id": el_id,
                    "type": "rect",
                    "x": i,
                    "y": i,
                    "w": 4,
                    "h": -4,
                    "style": STYLE,
                }
        elif kind == "app":
            body = {"id": el_id, "p": [rnd.randint(-5, 5) for _ in range(6)]}
        elif kind == "upd":
            body = {"id": el_id, "set": {"style": {"color": "#ff0000"}, "x": i}}
        elif kind in {"mov", "del"}:
            body = {"ids": rnd.sample(IDS, 2)} | ({"dx": 3, "dy": -1} if kind == "mov" else {})
        else:
            body = {}
        ops.append(validate_op({"i": i, "k": kind, **body}, Limits()))
    return ops


def log_entries(board_id: str) -> list[dict[str, Any]]:
    return [decode_entry(payload) for _s, payload in ops_after(board_id, 0)]


@pytest.fixture
def logged_board(make_board: Any, user: Any) -> Board:
    board = make_board(user)
    ops = scripted_ops(60)
    for start in range(0, len(ops), 7):
        append_ops(board_id=board.id, author_id=user.id, client_id="c1", ops=ops[start : start + 7])
    return board


def test_state_at_without_snapshots_replays_the_log(logged_board: Board) -> None:
    entries = log_entries(logged_board.id)
    assert len(entries) == 60
    for seq in range(0, 61, 3):
        assert state_at(logged_board.id, seq) == materialize(None, entries[:seq])
    assert state_at(logged_board.id) == materialize(None, entries)


def test_state_at_from_any_snapshot_equals_full_replay(logged_board: Board, user: Any) -> None:
    entries = log_entries(logged_board.id)
    early = create_snapshot(logged_board.id, upto_seq=10)
    manual = create_snapshot(
        logged_board.id,
        label="before cleanup",
        kind=SnapshotKind.MANUAL,
        created_by=user,
        upto_seq=33,
    )
    head = create_snapshot(logged_board.id)
    assert (early.seq, manual.seq, head.seq) == (10, 33, 60)
    assert create_snapshot(logged_board, upto_seq=12).seq == 12
    assert manual.element_count == materialize(None, entries[:33]).element_count
    assert (manual.label, manual.kind, manual.created_by_id) == (
        "before cleanup",
        "manual",
        user.id,
    )
    for seq in range(61):
        assert state_at(logged_board.id, seq) == materialize(None, entries[:seq]), seq
    assert snapshot_state(manual) == materialize(None, entries[:33])


def test_latest_snapshot_picks_the_highest_seq_at_or_below_the_bound(logged_board: Board) -> None:
    assert latest_snapshot(logged_board.id) is None
    s10 = create_snapshot(logged_board.id, upto_seq=10)
    s40 = create_snapshot(logged_board.id, upto_seq=40)
    assert latest_snapshot(logged_board.id) == s40
    assert latest_snapshot(logged_board.id, max_seq=39) == s10
    assert latest_snapshot(logged_board.id, max_seq=9) is None


def test_state_at_clamps_to_the_head_and_refuses_unknown_boards(logged_board: Board) -> None:
    assert state_at(logged_board.id, 10_000).seq == 60
    assert state_at(logged_board, 30) == state_at(logged_board.id, 30)  # a Board works too
    assert state_at(logged_board.id, 0) == BoardState()
    with pytest.raises(BoardNotFound):
        state_at("no-such-board")


def test_state_load_keeps_the_stored_snapshot_and_reads_in_one_query_per_part(
    logged_board: Board, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):  # head + nothing stored, then the whole log
        empty = state_load(logged_board.id)
    assert (empty.snapshot_seq, empty.snapshot, empty.state) == (
        0,
        None,
        state_at(logged_board, 60),
    )
    s40 = create_snapshot(logged_board.id, upto_seq=40)
    stored = bytes(Snapshot.objects.get(id=s40.id).state)
    with django_assert_num_queries(2):  # head + snapshot, then the tail 41..60
        loaded = state_load(logged_board.id)
    assert (loaded.snapshot_seq, loaded.snapshot) == (40, stored)
    assert loaded.state == materialize(None, log_entries(logged_board.id))
    with django_assert_num_queries(1):  # the snapshot is the board at 40: no tail to read
        at40 = state_load(logged_board.id, 40)
    assert (at40.snapshot_seq, at40.state) == (40, decode_snapshot(stored))
    assert head_and_snapshot(logged_board.id, 39) == (60, 0, None)
    with pytest.raises(BoardNotFound):
        head_and_snapshot("no-such-board")


def test_a_deferred_load_decodes_on_first_use_and_equals_the_eager_one(
    logged_board: Board, django_assert_num_queries: Any
) -> None:
    create_snapshot(logged_board.id, upto_seq=25)
    with django_assert_num_queries(2):
        loaded = state_load(logged_board.id, defer=True)
    state = loaded.state
    assert (state.is_deferred, state.seq, loaded.snapshot_seq) == (True, 60, 25)
    assert "deferred" in repr(state)
    expected = materialize(None, log_entries(logged_board.id))
    assert state_at(logged_board.id) == expected
    with django_assert_num_queries(0):  # the tail was read up front
        assert state == expected
    assert not state.is_deferred
    no_tail = state_load(logged_board.id, 25, defer=True).state
    apply_in_place(no_tail, {"k": "clr", "s": 26})
    assert (no_tail.is_deferred, no_tail.seq, no_tail.elements) == (False, 26, {})


def test_a_deferred_state_builds_once_across_threads_and_yields_to_assignment() -> None:
    calls: list[int] = []
    started = threading.Event()

    def slow_build() -> dict[str, Any]:
        calls.append(1)
        started.set()
        time.sleep(0.05)
        return {"a": {"id": "a", "type": "rect"}}

    state = BoardState.deferred(7, slow_build)
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: state.element_count, range(8)))
    assert (sizes, len(calls), state.seq) == ([1] * 8, 1, 7)

    def never() -> dict[str, Any]:
        raise AssertionError("an assigned state must not be built")

    replaced = BoardState.deferred(3, never)
    replaced.elements = {}  # what `rst` does: the stored elements are never needed
    assert (replaced.is_deferred, replaced.elements) == (False, {})


def test_a_restore_op_replaces_the_board(logged_board: Board) -> None:
    old = create_snapshot(logged_board.id, upto_seq=20)
    restored = snapshot_state(old)
    rst = validate_op(
        {"i": 1, "k": "rst", "from": old.seq, "els": list(restored.elements.values())},
        Limits(),
        allow_server_kinds=True,
    )
    append_ops(board_id=logged_board.id, author_id=None, client_id="server", ops=[rst])
    now = state_at(logged_board.id)
    assert now.seq == 61
    assert now.elements == restored.elements


@override_settings(INKROOM={"SNAPSHOT_EVERY_OPS": 100, "SNAPSHOT_EVERY_SECS": 60})
@pytest.mark.parametrize(
    ("ops", "secs", "expected"),
    [(0, 10_000, False), (99, 59.9, False), (100, 0, True), (1, 60, True), (5, 10, False)],
)
def test_compaction_policy(ops: int, secs: float, expected: bool) -> None:
    assert should_snapshot(ops, secs) is expected


def big_state(elements: int, points_per_stroke: int) -> BoardState:
    state = BoardState(seq=elements)
    deltas = [1, 2, 3, -1] * (points_per_stroke // 2)
    for n in range(elements):
        el_id = f"el{n:06d}"
        state.elements[el_id] = {
            "id": el_id,
            "type": "stroke",
            "x": n % 5000,
            "y": n // 5000,
            "style": dict(STYLE),
            "p": list(deltas),
            "pr": [50] * points_per_stroke,
        }
    return state


def test_loading_a_50k_element_board_is_fast(make_board: Any, user: Any) -> None:
    # 50,000 strokes of 16 points with pressure (~6 MB of msgpack) plus a 1000-op tail (the
    # compaction policy's maximum): measured ~210 ms wall clock on a loaded 2-core box.
    board = make_board(user)
    Board.objects.filter(id=board.id).update(head_seq=50_000)
    state = big_state(50_000, 16)
    Snapshot.objects.create(
        board=board, seq=50_000, state=encode_snapshot(state), element_count=50_000
    )
    tail = [
        {"i": n, "k": "app", "id": f"el{n:06d}", "p": [1, 1], "pr": [60]} for n in range(1, 1001)
    ]
    append_ops(board_id=board.id, author_id=None, client_id="c", ops=tail)

    # CPU time of this process, best of three: CI boxes are shared (load 8 on 2 cores while this
    # was written turned a 200 ms wall-clock load into 600 ms), and the bound is about our code.
    # PostgreSQL's side of the fetch (~50 ms wall for 6 MB) is outside this measure.
    timings = []
    for _ in range(3):
        start = time.process_time()
        loaded = state_at(board.id)
        timings.append(time.process_time() - start)
    elapsed = min(timings)
    assert loaded.seq == 51_000
    assert loaded.element_count == 50_000
    assert loaded.total_points == 50_000 * 16 + 1000
    assert elapsed < 0.5, f"state_at took {elapsed * 1000:.0f} ms"
