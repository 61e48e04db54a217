"""
Command line: `python -m bench A|B|C|D|E|F|G|S|all [options]`, or `python -m bench canvas
[options]` for the browser canvas at scale (bench/canvas).

Every scenario starts its own servers (Inkroom via `python -m realtime.server.serve`, the reference
servers in-process of this invocation), prints one table row per measurement and appends it
to bench/results/<date>.jsonl.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import report, targets
from bench.reconnect import scenario_r
from bench.resync import scenario_f
from bench.scenarios import scenario_a, scenario_b, scenario_c, scenario_d, scenario_g, scenario_s
from bench.sweeps import scenario_e
from bench.targets import Bench

SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "A": scenario_a,
    "B": scenario_b,
    "C": scenario_c,
    "D": scenario_d,
    "E": scenario_e,
    "F": scenario_f,
    "G": scenario_g,
    "S": scenario_s,
    "R": scenario_r,
}
#: `all` runs A before S and G so they can reuse A's Inkroom row as their baseline.
ALL_ORDER = "ABCGSDFE"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["canvas"]:
        from bench import canvas

        return canvas.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="+", help="A..G, S (slow consumer) or all")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run (20)")
    parser.add_argument("--sweep-duration", type=float, default=8.0, help="seconds per E step")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for stragglers")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes (2)")
    parser.add_argument("--points-per-op", type=int, default=4, help="stroke points per op (4)")
    parser.add_argument(
        "--pointer-hz", type=float, default=120.0, help="pointer rate of the freehand strokes (120)"
    )
    parser.add_argument(
        "--protocol",
        type=_protocols,
        default=(2,),
        help="Inkroom protocol version(s), e.g. 2 or 2,1: A, B and C measure each in turn and "
        "give v2/v1 ratios (vs_v1); D, E, G and S use the first (default 2)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="scale client counts (quick runs)")
    parser.add_argument("--no-redis", action="store_true", help="Inkroom on the in-memory layer")
    parser.add_argument("--no-references", action="store_true", help="skip reference servers")
    parser.add_argument(
        "--no-tentative",
        action="store_true",
        help="Inkroom clients do not ask for tentative ops (protocol §2.6): deliveries are counted "
        "when the commit's entries arrive",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the Inkroom server")
    parser.add_argument("--port-base", type=int, default=18400)
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    wanted = "".join(ALL_ORDER if s.lower() == "all" else s.upper() for s in args.scenarios)
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    report.RESULTS_DIR = args.results_dir
    targets.TENTATIVE = not args.no_tentative
    bench = Bench(
        duration=args.duration, sweep_duration=args.sweep_duration, drain=args.drain,
        workers=args.workers, redis=not args.no_redis, points_per_op=args.points_per_op,
        scale=args.scale, port_base=args.port_base, references=not args.no_references,
        profile=args.profile, protocols=args.protocol, pointer_hz=args.pointer_hz,
    )  # fmt: skip
    print(report.table_header(), flush=True)
    started = time.monotonic()
    for letter in dict.fromkeys(wanted):
        SCENARIOS[letter](bench)
    missed = [r for r in bench.rows if r.get("goal_met") is False]
    print(f"{len(bench.rows)} rows in {time.monotonic() - started:.0f} s; "
          f"{len(missed)} goal(s) missed; results in {args.results_dir}")  # fmt: skip
    return 0


def _protocols(text: str) -> tuple[int, ...]:
    try:
        versions = tuple(dict.fromkeys(int(v) for v in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of versions: {text!r}") from None
    if not versions or not set(versions) <= {1, 2}:
        raise argparse.ArgumentTypeError("protocol versions are 1 and 2")
    return versions


if __name__ == "__main__":
    sys.exit(main())
