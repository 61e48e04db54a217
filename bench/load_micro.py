"""
Micro-benchmark of a cold board load plus its first `snap` catch-up, in-process, old vs new.

`python -m bench.load_micro` seeds two boards in the bench database (BENCH_DATABASE_URL): scenario
F's 50,000-element board (snapshot at the head) and its 12,000-op board without a snapshot (the
10,000-missed-ops reconnect), then times, alternating old and new on the same boards so both see the
same box: the hub's load (realtime.engine.store) and the catch-up's `snap` frame plus tail. "old" is
the path before the snapshot bytes were kept (reproduced below: head, full snapshot row, decode,
replay one entry at a time, the snapshot row again, then encoding the state for the frame); "new" is
the code as it is. `loop ms` is the part that runs on the event loop (encoding the frame). The new
load defers decoding the snapshot to the first op on the board; that build is timed separately (it
holds the GIL, like the old decode in a reader thread did).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import msgpack

from bench import setup

BOARD_ELEMENTS = 50_000
MISSED_OPS_BOARD = 12_000


def _old_state_at(board_id: str) -> Any:
    from board.document import BoardState, replay
    from board.models import Board
    from board.oplog import decode_entry, ops_between
    from board.snapshots import latest_snapshot, snapshot_state

    head = Board.objects.filter(id=board_id).values_list("head_seq", flat=True).get()
    snapshot = latest_snapshot(board_id, max_seq=head)
    state = snapshot_state(snapshot) if snapshot is not None else BoardState()
    replay(state, (decode_entry(p) for _s, p in ops_between(board_id, state.seq, head)))
    return state


def old_path(board_id: str) -> tuple[float, float, int]:
    """
    The load and first `snap` before this change: (load ms, loop ms, frame bytes).
    """
    from board.snapshots import latest_snapshot
    from realtime.engine import store
    from realtime.wire.frames import encode_snap

    t0 = time.perf_counter()
    state = _old_state_at(board_id)
    latest_snapshot(board_id)  # load_state read the row a second time for its seq
    t1 = time.perf_counter()
    frame = encode_snap(state)  # catch-up: the live state encoded on the event loop
    store.read_range(board_id, state.seq)
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, len(frame)


def new_path(board_id: str) -> tuple[float, float, int]:
    """
    The load and first `snap` now: the stored snapshot forwarded when there is one.
    """
    from realtime.engine import store
    from realtime.wire.frames import encode_snap

    t0 = time.perf_counter()
    loaded = store.load_board(board_id)
    t1 = time.perf_counter()
    if loaded.snap is not None:
        seq, frame = loaded.snap
    else:
        seq, frame = loaded.state.seq, encode_snap(loaded.state)
    store.read_range(board_id, seq)
    t2 = time.perf_counter()
    _ = loaded.state.elements  # the deferred build, paid by the first op (not in the total)
    BUILD_MS.append((time.perf_counter() - t2) * 1e3)
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, len(frame)


#: The new path's deferred decode, timed after each run: the first op on the board pays it.
BUILD_MS: list[float] = []


def _phases(board_id: str) -> dict[str, float]:
    """
    Where the new load's time goes, one step at a time.
    """
    from board.snapshots import _tail, decode_snapshot, head_and_snapshot

    out: dict[str, float] = {}
    t = time.perf_counter()
    head, _seq, stored = head_and_snapshot(board_id)
    out["query head+snapshot ms"] = (time.perf_counter() - t) * 1e3
    if stored is not None:
        t = time.perf_counter()
        gc.disable()
        msgpack.unpackb(stored)
        gc.enable()
        out["msgpack decode ms"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        state = decode_snapshot(stored)
        out["decode + BoardState ms"] = (time.perf_counter() - t) * 1e3
        after = state.seq
    else:
        after = 0
    t = time.perf_counter()
    for _entry in _tail(board_id, after, head):
        pass
    out["tail fetch + decode ms"] = (time.perf_counter() - t) * 1e3
    return out


def _measure(name: str, board_id: str, repeats: int) -> None:
    runs: dict[str, list[tuple[float, float, int]]] = {"old": [], "new": []}
    paths: dict[str, Callable[[str], tuple[float, float, int]]] = {"old": old_path, "new": new_path}
    for k in range(repeats):
        # Alternate which goes first: each run leaves garbage the next one's GC may collect.
        for label in ("old", "new") if k % 2 == 0 else ("new", "old"):
            runs[label].append(paths[label](board_id))
    print(f"\n{name} ({repeats} runs each, interleaved; median, min)")
    medians = {}
    for label, rows in runs.items():
        total = [a + b for a, b, _ in rows]
        medians[label] = statistics.median(total)
        print(
            f"  {label}: load {statistics.median(r[0] for r in rows):7.1f} ms"
            f"  loop {statistics.median(r[1] for r in rows):6.1f} ms"
            f"  total {medians[label]:7.1f} ms (min {min(total):6.1f})  frame {rows[0][2]} B"
        )
    print(f"  new/old total: {medians['new'] / medians['old']:.2f}")
    print(f"  new, deferred to the first op: build {statistics.median(BUILD_MS):.1f} ms")
    BUILD_MS.clear()
    for key, value in _phases(board_id).items():
        print(f"    new {key}: {value:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_micro", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    setup.django_init(setup.server_env(redis=False))
    setup.reset_boards()
    big, missed = setup.create_boards(2, "bench-load-micro")
    setup.seed_elements(big, BOARD_ELEMENTS)
    setup.seed_strokes(missed, MISSED_OPS_BOARD)
    _measure(f"cold {BOARD_ELEMENTS} elements (snapshot at head)", big, args.repeats)
    _measure(f"cold {MISSED_OPS_BOARD} ops, no snapshot", missed, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
