"""
`python -m bench.peers [--full] [--sweeps] [...]`: Inkroom and the peers side by side
(`make bench-peers`).

By default every scenario runs 5 s (plus a 2 s drain) so that A, B, C, D on all seven targets
and the durability probes take about seven minutes; `--full` uses the bench's 20 s and 3 s.
`--sweeps` adds the B- and C-shape saturation sweeps (up to ten 6-s steps per target, about ten
minutes more). Prints a table row per run as it goes, then the side-by-side summary, which is
also written to var/bench/peers-summary-<time>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import report, servers
from bench.peers import run
from bench.peers.load import PEER_TARGETS
from bench.targets import Bench

PEERS_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/inkroom_bench_peers"
PEERS_REDIS_URL = "redis://127.0.0.1:6379/7"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--full", action="store_true", help="20 s runs, 3 s drain (the bench's)")
    parser.add_argument("--duration", type=float, help="seconds per run (5; --full: 20)")
    parser.add_argument("--drain", type=float, help="seconds to wait for stragglers (2; --full: 3)")
    parser.add_argument("--sweeps", action="store_true", help="B- and C-shape saturation sweeps")
    parser.add_argument("--sweep-duration", type=float, default=6.0, help="seconds per step (6)")
    parser.add_argument("--scenarios", default="ABCD", help="any of A, B, C, D (ABCD)")
    parser.add_argument("--targets", default=",".join(run.TARGETS), help="comma-separated")
    parser.add_argument("--no-durability", action="store_true", help="skip the durability probes")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes (2)")
    parser.add_argument("--scale", type=float, default=1.0, help="scale client counts")
    parser.add_argument("--no-redis", action="store_true", help="Inkroom on the in-memory layer")
    # Clear of `python -m bench` (18400-18499) and of the tests' ranges.
    parser.add_argument("--port-base", type=int, default=19100)
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    parser.add_argument(
        "--summary", type=Path, metavar="JSONL",
        help="print the summary of a stored invocation (see --since, --until); run nothing",
    )  # fmt: skip
    parser.add_argument("--since", default="", help="with --summary: rows with ts >= this")
    parser.add_argument("--until", default="~", help="with --summary: rows with ts < this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    targets = tuple(t for t in args.targets.split(",") if t)
    unknown = set(targets) - set(run.TARGETS)
    if unknown:
        parser.error(
            f"unknown target(s): {', '.join(sorted(unknown))}; known: {', '.join(run.TARGETS)}"
        )
    if set(targets) & set(PEER_TARGETS) and not servers.peers_installed():
        print("bench/peers/node_modules is missing: run `npm ci` in bench/peers (make bench-peers "
              "does)", file=sys.stderr)  # fmt: skip
        return 2
    if args.summary:
        stored = [json.loads(line) for line in args.summary.open() if line.strip()]
        rows, sat, durable = run.from_results(
            [r for r in stored if args.since <= r["ts"] < args.until], targets
        )
        print(run.summary_table(rows, targets, sat, durable))
        return 0
    report.RESULTS_DIR = args.results_dir
    # Its own database and Redis number: Inkroom's setup deletes every bench board it finds, which
    # would pull the boards from under a `python -m bench` running beside this on a shared box.
    os.environ.setdefault("BENCH_DATABASE_URL", PEERS_DATABASE_URL)
    os.environ.setdefault("BENCH_REDIS_URL", PEERS_REDIS_URL)
    bench = Bench(
        duration=args.duration or (20.0 if args.full else 5.0),
        drain=args.drain or (3.0 if args.full else 2.0),
        sweep_duration=args.sweep_duration, workers=args.workers, redis=not args.no_redis,
        scale=args.scale, port_base=args.port_base,
    )  # fmt: skip
    started = time.monotonic()
    load1, fsync1 = os.getloadavg()[0], _fsync_ms()
    print(report.table_header(), flush=True)
    run.side_by_side(bench, args.scenarios.upper(), targets)
    sat = run.sweeps(bench, targets) if args.sweeps else None
    durable = None if args.no_durability else run.durabilities(bench, targets)
    table = run.summary_table(bench.rows, targets, sat, durable)
    now = dt.datetime.now(dt.UTC)
    head = (
        f"{now:%Y-%m-%d %H:%M} UTC, `python -m bench.peers {' '.join(argv or sys.argv[1:])}`, "
        f"{bench.duration:g} s per run, {time.monotonic() - started:.0f} s in all; load average "
        f"{load1:.2f} before, {os.getloadavg()[0]:.2f} after; fsync of 4 KiB {fsync1:.2f} ms "
        f"before, {_fsync_ms():.2f} ms after (median); commit {_commit()}"
    )
    print("\n" + head + "\n\n" + table, flush=True)
    servers.LOG_DIR.mkdir(parents=True, exist_ok=True)
    out = servers.LOG_DIR / f"peers-summary-{now:%Y%m%dT%H%M%S}.md"
    out.write_text(head + "\n\n" + table + "\n\n" + report.markdown_table(bench.rows) + "\n")
    print(f"\nsummary and every row: {out}", flush=True)
    return 0


def _fsync_ms(samples: int = 21) -> float:
    """
    The median time to fsync a 4 KiB write where the peers keep their files: the servers that
    commit per op (Inkroom, tldraw with SQLite) wait for it, so a busy disk shows in their rows.
    """
    servers.LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = servers.LOG_DIR / "fsync-probe.tmp"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for _ in range(samples):
            os.write(fd, b"\0" * 4096)
            t0 = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return 1000 * sorted(times)[samples // 2]


def _commit() -> str:
    got = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=servers.ROOT,
                         capture_output=True, text=True, check=False)  # fmt: skip
    return got.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
