"""
`python -m bench canvas`: the browser canvas at scale (issue 17), in headless Chromium.

Seeds a board of N mixed elements (default 10,000) through the op log, serves it with Inkroom's
server, opens it at device pixel ratio 1 and 2 with the whole board in view at 100 %, and
measures with the probe (probe.js): pan, zoom and inking frames (the work of each animation
frame, raster included), the first full draw, the time from opening the URL to being able to
draw, and the page's memory. `--baseline DIR` serves another checkout (its
bundle built) the same way, alternating with this one, and prints both side by side.

The load figures, in ms (docs/performance.md §2.0h):
  loaded      navigation start to the start of the first animation frame whose state holds the
              whole board (the HTML, the bundle, the socket, the snapshot and its decoding);
  first_draw  the issue's "first full draw": from that frame's start to the end of the first
              frame after which every visible element is on screen, at any level of detail;
  sharp       from the same start to the end of the first frame after which every visible
              element is at full detail (first_draw where no coarse picture is drawn first);
  ready       the issue's "opening the board's URL to drawing": navigation start to the later of
              the end of first_draw and the sync client being synced (a stroke drawn from then
              on is kept and sent), i.e. loaded + first_draw when the socket is not the later.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import sys
from pathlib import Path
from typing import Any

from bench import report, servers, setup

#: Issue 17's budgets, per figure of the table (ms, or MiB for memory).
BUDGETS = {"pan_p95": 16, "zoom_p95": 16, "ink_p95": 8, "first_draw": 300, "ready": 1000,
           "page_memory": 300}  # fmt: skip
COLUMNS = (("pan_p95", "pan p95"), ("zoom_p95", "zoom p95"), ("ink_p95", "ink p95"),
           ("pan_p50", "pan p50"), ("zoom_p50", "zoom p50"), ("ink_p50", "ink p50"),
           ("first_draw", "1st draw"), ("sharp", "sharp"), ("loaded", "loaded"),
           ("ready", "ready"), ("page_memory", "page MiB"), ("js_heap", "heap MiB"),
           ("renderer_rss", "rss MiB"))  # fmt: skip
FRAMES = {"pan": 120, "zoom": 80, "ink": 120}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figures(raw: dict[str, Any]) -> dict[str, float]:
    """The table's figures from one measurement (bench.canvas.browser.measure)."""
    out: dict[str, float] = {}
    for kind, frames in raw["gestures"].items():
        work = [f["work"] for f in frames]
        out[f"{kind}_p50"] = round(percentile(work, 50), 1)
        out[f"{kind}_p95"] = round(percentile(work, 95), 1)
        out[f"{kind}_max"] = round(max(work), 1)
        starts = [f["start"] for f in frames]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        out[f"{kind}_interval_p95"] = round(percentile(gaps, 95), 1) if gaps else 0.0
    load = raw["load"]
    # The definitions are docs/performance.md's (§2.0h): first_draw and sharp from the frame
    # that first holds the whole board, the page's own drawing.
    out["loaded"] = round(load["firstFrame"], 1)
    out["first_draw"] = round(load["shown"] - load["firstFrame"], 1)
    out["sharp"] = round(load["drawn"] - load["firstFrame"], 1)
    out["ready"] = round(max(load["shown"], load["synced"]), 1)
    out["js_heap"] = raw["js_heap_mib"]
    out["page_memory"] = raw["page_memory_mib"]
    out["renderer_rss"] = raw["renderer_rss_mib"]
    out["zoom_at_open"] = raw["camera"]["zoom"]
    out["canvas"] = f"{raw['camera']['width']:.0f}x{raw['camera']['height']:.0f}"
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'code':<8} {'dpr':>3} " + " ".join(f"{title:>9}" for _, title in COLUMNS)
    lines = [head]
    for row in rows:
        cells = " ".join(f"{row['figures'][key]:>9}" for key, _ in COLUMNS)
        lines.append(f"{row['code']:<8} {row['dpr']:>3} {cells}")
    budget = " ".join(f"{('<= ' + str(BUDGETS[k])) if k in BUDGETS else '':>9}" for k, _ in COLUMNS)
    lines.append(f"{'budget':<8} {'':>3} {budget}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench canvas", description=__doc__)
    parser.add_argument("--elements", type=int, default=10_000, help="elements on the board")
    parser.add_argument("--dpr", default="1,2", help="device pixel ratios (1,2)")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure alternately")
    parser.add_argument("--rounds", type=int, default=1, help="alternations per device ratio")
    parser.add_argument("--frames", type=float, default=1.0, help="scale the gestures' frames")
    parser.add_argument("--port-base", type=int, default=18490)
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    return parser


def main(argv: list[str]) -> int:
    from bench.canvas import board, browser

    args = _parser().parse_args(argv)
    dprs = [float(v) for v in args.dpr.split(",")]
    trees = {"after": servers.ROOT}
    if args.baseline:
        bundle = args.baseline / "frontend/static/frontend/dist/main.js"
        if not bundle.exists():
            sys.exit(f"{bundle} is missing: run `make -s -C {args.baseline}/frontend build`")
        trees = {"before": args.baseline.resolve(), **trees}
    frames = {kind: max(4, round(n * args.frames)) for kind, n in FRAMES.items()}
    env = setup.server_env(redis=False)
    setup.django_init(env)
    board.reset()
    running = {
        code: servers.inkroom(args.port_base + k, env, tree).start()
        for k, (code, tree) in enumerate(trees.items())
    }
    rows: list[dict[str, Any]] = []
    try:
        for dpr in dprs:
            for _ in range(args.rounds):
                for code, server in running.items():
                    board_id = board.seed(args.elements)
                    base = f"http://127.0.0.1:{server.port}"
                    raw = asyncio.run(browser.measure(base, board_id, args.elements, dpr, frames))
                    row = {"scenario": "canvas", "code": code, "tree": str(trees[code]), "dpr": dpr,
                           "elements": args.elements, "figures": figures(raw)}  # fmt: skip
                    rows.append(row)
                    report.append(row, args.results_dir)
                    print(f"{code} dpr {dpr}: {row['figures']}", flush=True)
    finally:
        for server in running.values():
            server.stop()
        board.reset()
    print(table(rows), flush=True)
    return 0
