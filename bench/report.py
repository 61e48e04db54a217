"""
Reporting: one JSON line per measurement in bench/results/<date>.jsonl, and a console table.

Every line carries the machine (nproc, CPU model, Python and library versions, git commit) so
a figure is never read without the box it was measured on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_PACKAGES = ("django", "channels", "channels-redis", "hypercorn", "uvloop", "msgpack", "websockets")


@cache
def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=RESULTS_DIR.parent.parent,
        ).stdout.strip()
        # The servers run from the working tree: say when it differs from the commit.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "realtime", "board", "config"],
            capture_output=True,
            text=True,
            check=False,
            cwd=RESULTS_DIR.parent.parent,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
        "kernel": platform.release(), "versions": versions, "commit": commit,
        "worktree_dirty": bool(dirty),
    }  # fmt: skip


def append(row: dict[str, Any], results_dir: Path | None = None) -> Path:
    """
    Append one measurement (plus timestamp and machine) to today's results file.
    """
    now = dt.datetime.now(dt.UTC)
    results_dir = results_dir or RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{now.date().isoformat()}.jsonl"
    line = {"ts": now.isoformat(timespec="seconds"), **row, "machine": machine()}
    with path.open("a") as f:
        f.write(json.dumps(line, sort_keys=False) + "\n")
    return path


_COLUMNS = (
    ("scen", 5, lambda r: r.get("scenario", "")),
    ("target", 13, lambda r: r.get("target", "")),
    ("v", 2, lambda r: r.get("protocol", "")),
    ("variant", 16, lambda r: r.get("variant", "")),
    ("clients", 7, lambda r: r.get("clients", "")),
    ("deliv/s", 8, lambda r: r.get("deliveries_per_s", "")),
    ("loss%", 7, lambda r: r.get("loss_pct", "")),
    ("dup", 4, lambda r: r.get("duplicates", "")),
    ("p50ms", 7, lambda r: _ms(r, "latency_ms", "p50")),
    ("p99ms", 8, lambda r: _ms(r, "latency_ms", "p99")),
    ("ack99", 7, lambda r: _ms(r, "ack_ms", "p99")),
    ("fin/s", 6, lambda r: r.get("server_frames_in_per_s", "")),
    ("fout/s", 7, lambda r: r.get("server_frames_out_per_s", "")),
    ("B/up", 5, lambda r: r.get("up_bytes_per_point", "")),
    ("B/dn", 5, lambda r: r.get("down_bytes_per_point", "")),
    ("srv%", 6, lambda r: r.get("server_cpu_pct", "")),
    ("rssMiB", 7, lambda r: r.get("server_rss_mib", "")),
    ("gen%", 6, lambda r: r.get("loadgen_cpu_pct", "")),
    ("other%", 6, lambda r: r.get("other_cpu_pct", "")),
    ("ok", 4, lambda r: {True: "yes", False: "NO"}.get(r.get("goal_met"), "")),  # type: ignore[arg-type]
)


def _ms(row: dict[str, Any], key: str, q: str) -> Any:
    value = row.get(key)
    return value.get(q, "") if isinstance(value, dict) and value.get("p50") else ""


def table_header() -> str:
    return " ".join(f"{name:>{w}}" for name, w, _ in _COLUMNS)


def table_row(row: dict[str, Any]) -> str:
    return " ".join(f"{str(get(row))[:w]:>{w}}" for _, w, get in _COLUMNS)


def print_row(row: dict[str, Any]) -> None:
    print(table_row(row), flush=True)
    note = row.get("note")
    if note:
        print(f"      {note}", flush=True)


_MD_COLUMNS = (
    ("scenario", lambda r: r.get("scenario", "")),
    ("target", lambda r: r.get("target", "")),
    ("protocol", lambda r: r.get("protocol", "")),
    ("variant", lambda r: r.get("variant", "")),
    ("clients", lambda r: r.get("clients", "")),
    (
        "op-deliveries/s",
        lambda r: r.get("deliveries_per_s", r.get("last_good_deliveries_per_s", "")),
    ),
    ("loss %", lambda r: r.get("loss_pct", "")),
    ("dup", lambda r: r.get("duplicates", "")),
    ("p50 ms", lambda r: _ms(r, "latency_ms", "p50")),
    ("p99 ms", lambda r: _ms(r, "latency_ms", "p99") or r.get("last_good_p99_ms") or ""),
    ("ack p99 ms", lambda r: _ms(r, "ack_ms", "p99")),
    ("frames in/s", lambda r: r.get("server_frames_in_per_s", "")),
    ("frames out/s", lambda r: r.get("server_frames_out_per_s", "")),
    ("B/pt up", lambda r: r.get("up_bytes_per_point", "")),
    ("B/pt down", lambda r: r.get("down_bytes_per_point", "")),
    ("server CPU %", lambda r: r.get("server_cpu_pct", "")),
    ("µs/frame", lambda r: r.get("server_us_per_frame", "")),
    ("RSS MiB", lambda r: r.get("server_rss_mib", "")),
    ("gen CPU %", lambda r: r.get("loadgen_cpu_pct", "")),
    ("other CPU %", lambda r: r.get("other_cpu_pct", "")),
    ("goal met", lambda r: {True: "yes", False: "**no**"}.get(r.get("goal_met"), "")),  # type: ignore[arg-type]
)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """
    Render result rows as the Markdown table docs/performance.md shows.
    """
    lines = [
        "| " + " | ".join(name for name, _ in _MD_COLUMNS) + " |",
        "|" + "---|" * len(_MD_COLUMNS),
    ]
    for row in rows:
        cells = [str(get(row)) for _, get in _MD_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """
    `python -m bench.report FILE.jsonl [--since ISO-TS]`: print the rows as a Markdown table.
    """
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--since", default="", help="only rows with ts >= this")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.file.open() if line.strip()]
    # Micro-benchmark lines (bench.wire_micro) share the files but not the columns.
    print(markdown_table([r for r in rows if r["ts"] >= args.since and "micro" not in r]))


if __name__ == "__main__":
    main()
