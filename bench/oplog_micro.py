"""
Micro-benchmark of board.oplog.append_batches on PostgreSQL: CPU and wall time per op.

`python -m bench.oplog_micro` sets Django up against BENCH_DATABASE_URL (bench.setup), creates
fresh boards for each variant and stores ticks shaped like the many-boards scenario (each board
drawn on by a few clients: strokes of one `add` then `app`s of 4 points, bench.client's ops).
It times each append_batches call with time.thread_time (the Python/psycopg CPU the hub's commit
thread spends holding the GIL; PostgreSQL's own CPU is another process) and perf_counter (wall),
and prints medians per op.

The baseline is board/oplog.py as it was at a git revision (BASELINE_REV, or --baseline), loaded
as a separate module, so the old path stays measurable without living on in board/oplog/. The
log was one file until it became the board/oplog/ package: a baseline revision must predate that.
The variants run interleaved, tick by tick and in alternating order, so load from other
processes on the box hits both alike; compare their ratio, not figures from another run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import backends
from bench.baseline import module_at
from bench.client import _STYLE, STROKE_APPS, client_id_for
from bench.setup import create_boards, django_init, reset_boards, server_env

#: board/oplog.py before the binary-parameter work; the default old path.
BASELINE_REV = "c489eca"
#: Clients per board in the many-boards scenario (50 boards x 4 clients at 30 Hz).
CLIENTS_PER_BOARD = 4
POINTS_PER_OP = 4

AppendFn = Callable[[Mapping[str, Sequence[Any]]], Mapping[str, Any]]


def load_baseline(rev: str) -> types.ModuleType:
    """
    Import board/oplog.py as of git revision `rev` as the module `bench._oplog_<rev>`.
    """
    return module_at(rev, "board/oplog.py", f"bench._oplog_{rev}")


@dataclass(slots=True)
class _Pen:
    """
    One drawing client: its op ids and current stroke (bench.client.Client.next_frame).
    """

    client_id: str
    author_id: int
    rng: random.Random
    next_i: int = 1
    stroke_left: int = 0
    stroke_n: int = 0
    element: str = ""

    def next_op(self) -> dict[str, Any]:
        i, rng = self.next_i, self.rng
        self.next_i += 1
        if self.stroke_left <= 0:
            self.stroke_left, self.stroke_n = STROKE_APPS, self.stroke_n + 1
            self.element = f"{self.client_id}-{self.stroke_n}"
            el = {"id": self.element, "type": "stroke", "x": rng.randint(-5000, 5000),
                  "y": rng.randint(-5000, 5000), "style": _STYLE, "p": [0, 0]}  # fmt: skip
            return {"i": i, "k": "add", "el": el}
        self.stroke_left -= 1
        # Point values do not matter to an append: uniform deltas, no stroke model needed.
        pts = [rng.randint(-7, 7) for _ in range(2 * POINTS_PER_OP)]
        return {"i": i, "k": "app", "id": self.element, "p": pts}


@dataclass
class Variant:
    """
    One append_batches implementation, its own boards and pens, and its timings (µs per op).
    """

    name: str
    module: Any
    boards: list[str]
    pens: dict[str, list[_Pen]]
    #: Draws the resends; each variant has its own, seeded alike, so all store the same ops.
    rng: random.Random
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def tick(self, n_ops: int, resend: float) -> dict[str, list[Any]]:
        """
        The next `n_ops` ops, round-robin over boards and their clients; a `resend` fraction
        of them repeats the client's previous op (a reconnect resend: stored as a duplicate).
        """
        batches: dict[str, list[Any]] = {b: [] for b in self.boards}
        make = self.module.Submission
        for k in range(n_ops):
            board = self.boards[k % len(self.boards)]
            pen = self.pens[board][(k // len(self.boards)) % CLIENTS_PER_BOARD]
            if pen.next_i > 1 and self.rng.random() < resend:
                op = {"i": pen.next_i - 1, "k": "clr"}
            else:
                op = pen.next_op()
            batches[board].append(make(pen.client_id, pen.author_id, op))
        return batches

    def run(self, batches: dict[str, list[Any]]) -> None:
        n = sum(len(subs) for subs in batches.values())
        cpu, wall = time.thread_time(), time.perf_counter()
        self.module.append_batches(batches)
        self.cpu.append((time.thread_time() - cpu) * 1e6 / n)
        self.wall.append((time.perf_counter() - wall) * 1e6 / n)


def _variant(name: str, module: Any, n_boards: int, author_id: int, seed: int) -> Variant:
    boards = create_boards(n_boards, f"oplog micro {name}")
    rng = random.Random(seed)
    pens = {
        b: [_Pen(client_id_for(n * CLIENTS_PER_BOARD + c), author_id, rng) for c in range(4)]
        for n, b in enumerate(boards)
    }
    return Variant(name, module, boards, pens, random.Random(seed))


def _stored(board_ids: list[str]) -> list[tuple[Any, ...]]:
    """
    Every stored op of the boards, board by board in order, without the board id.
    """
    from board.models import Op

    rows: list[tuple[Any, ...]] = []
    for board_id in board_ids:
        query = Op.objects.filter(board_id=board_id).order_by("seq")
        fields = ("seq", "client_id", "client_op_id", "author_id", "kind", "payload")
        rows.extend((*r[:-1], bytes(r[-1])) for r in query.values_list(*fields))
    return rows


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.oplog_micro", description=__doc__)
    parser.add_argument("--ticks", type=int, default=300, help="timed ticks per variant (300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed ticks first (20)")
    parser.add_argument("--ops", type=int, default=400, help="ops per tick (400)")
    parser.add_argument("--boards", type=int, default=50, help="boards per variant (50)")
    parser.add_argument("--resend", type=float, default=0.0, help="fraction of resent ops (0)")
    parser.add_argument("--baseline", default=BASELINE_REV, help="git rev of the old path")
    parser.add_argument("--only-new", action="store_true", help="time the current path only")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    env = server_env(redis=False)
    if not env["DATABASE_URL"].startswith("postgres"):
        parser.error("BENCH_DATABASE_URL must point at PostgreSQL")
    django_init(env)
    from django.db import connection

    from bench.setup import bench_user
    from board import oplog

    reset_boards()
    uid = bench_user().pk
    modules: list[tuple[str, Any]] = [("new", oplog)]
    if not args.only_new:
        modules.insert(0, ("old", load_baseline(args.baseline)))
    variants = [_variant(n, m, args.boards, uid, args.seed) for n, m in modules]
    counts: list[backends.Snapshot] = []
    for t in range(args.warmup + args.ticks):
        if t == args.warmup and args.only_new:
            counts.append(backends.snapshot([], env["DATABASE_URL"]))
        order = variants if t % 2 == 0 else variants[::-1]
        for variant in order:
            batches = variant.tick(args.ops, args.resend)
            variant.run(batches)
            if t < args.warmup:
                variant.cpu.clear()
                variant.wall.clear()
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from board_op")
        stored = cursor.fetchone()
    print(f"{args.ticks} ticks of {args.ops} ops over {args.boards} boards per variant "
          f"(resend {args.resend:.0%}); {stored[0] if stored else 0} ops in the log")  # fmt: skip
    print(f"{'variant':8} {'cpu µs/op p50':>14} {'p90':>7} {'wall µs/op p50':>15} {'p90':>7}")
    for v in variants:
        print(f"{v.name:8} {statistics.median(v.cpu):14.1f} {_pct(v.cpu, 0.9):7.1f} "
              f"{statistics.median(v.wall):15.1f} {_pct(v.wall, 0.9):7.1f}")  # fmt: skip
    if counts:
        _print_database_costs(counts[0], env["DATABASE_URL"], args.ticks, args.ops)
    if len(variants) == 2:
        old, new = variants
        print(f"new/old: cpu x{statistics.median(new.cpu) / statistics.median(old.cpu):.2f}, "
              f"wall x{statistics.median(new.wall) / statistics.median(old.wall):.2f}")  # fmt: skip
        same = _stored(old.boards) == _stored(new.boards)
        print(f"stored rows and bytes identical: {'yes' if same else 'NO'}")
    reset_boards()
    return 0


def _print_database_costs(before: backends.Snapshot, url: str, ticks: int, ops: int) -> None:
    """
    What PostgreSQL did for the timed ticks (--only-new): WAL and backend CPU per op and per tick.
    """
    after = backends.snapshot([], url)
    found = backends.delta(before, after, url).get("postgres", {})
    if "wal_bytes" not in found:
        print(f"PostgreSQL: WAL not measured ({found.get('wal_error', 'no pg_walinspect')})")
        return
    n = ticks * ops
    print(f"PostgreSQL per op: WAL {found['wal_bytes'] / n:.0f} B (full-page images "
          f"{found['wal_fpi_bytes'] / n:.0f}), backend CPU {1e6 * found['backend_cpu_s'] / n:.1f} "
          f"µs; per tick: WAL {found['wal_bytes'] / ticks:.0f} B, backend CPU "
          f"{1e3 * found['backend_cpu_s'] / ticks:.2f} ms, "
          f"{found['write_transactions'] / ticks:.2f} write transactions")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
