"""
Run the simulation: `python -m tests.sim --seeds 0-1999 [--workers 2]`, `--seed N` to replay one.

Replays are exact: the same seed runs the same events in the same order (string hashing is
pinned through PYTHONHASHSEED=0, which this command sets for itself).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.pop("REDIS_URL", None)
    import logging

    import django

    django.setup()
    logging.getLogger("realtime").setLevel(logging.ERROR)
    logging.getLogger("realtime").propagate = False


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out


def _run(seeds: list[int]) -> list[tuple[int, list[str], dict[str, Any]]]:
    _setup()
    from tests.sim.world import run_seed

    out = []
    for seed in seeds:
        world, violations = run_seed(seed)
        digest = hashlib.sha256()
        for board_id in sorted(world.log.boards):
            for entry in world.log.boards[board_id].entries:
                digest.update(entry)
        stats = {
            "ops": sum(len(b.entries) for b in world.log.boards.values()),
            "faults": world.faults.injected,
            # Entries that reached a `tentative=2` client as a DOWN_PROMOTE (protocol §2.6).
            "promoted": sum(c.log.promoted for c in world.clients),
            "digest": digest.hexdigest()[:16],
        }
        out.append((seed, [str(v) for v in violations], stats))
    return out


def replay_command(seed: int) -> str:
    return f"PYTHONHASHSEED=0 .venv/bin/python -m tests.sim --seed {seed} -v"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sim")
    parser.add_argument("--seeds", default="0-99", help="e.g. 0-1999 or 3,17,40-50")
    parser.add_argument("--seed", type=int, help="replay one seed (prints its scenario)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, "-m", "tests.sim", *sys.argv[1:]])
    seeds = [args.seed] if args.seed is not None else _seeds(args.seeds)
    started = time.perf_counter()
    if args.workers > 1 and len(seeds) > 1:
        chunks = [seeds[k :: args.workers] for k in range(args.workers)]
        with ProcessPoolExecutor(args.workers) as pool:
            results = [r for part in pool.map(_run, chunks) for r in part]
    else:
        results = _run(seeds)
    elapsed = time.perf_counter() - started
    failed = sorted((r for r in results if r[1]), key=lambda r: r[0])
    kinds: Counter[str] = Counter()
    for seed, violations, stats in failed:
        for v in violations:
            kinds[v.split(":")[0]] += 1
        print(f"seed {seed} FAILED ({len(violations)} violations, {stats['ops']} ops stored)")
        for v in violations[: None if args.verbose else 5]:
            print(f"    {v}")
        print(f"    replay: {replay_command(seed)}")
    if args.verbose and args.seed is not None:
        _setup()
        import random

        from tests.sim.world import Scenario

        print(Scenario.draw(random.Random(args.seed)))
    if args.seed is not None:
        print(f"seed {args.seed}: log digest {results[0][2]['digest']}")
    ops = sum(r[2]["ops"] for r in results)
    promoted = sum(r[2]["promoted"] for r in results)
    print(
        f"{len(results)} seeds in {elapsed:.1f} s ({len(results) / elapsed:.0f} seeds/s, "
        f"{ops} ops stored, {promoted} entries promoted), {len(failed)} failed"
        + (f": {dict(kinds)}" if kinds else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
