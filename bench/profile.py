"""
Where the server's time goes: py-spy samples of the server during a run, summarised by function.

`py-spy record --format raw` writes collapsed stacks ("frame;frame;frame count"); from them we
report each function's self share (samples where it is the innermost frame) and inclusive share
(samples where it is anywhere on the stack), which together say what to optimise. `--gil` keeps
only samples of the thread holding the GIL: Python CPU time, not threads blocked on the
database or the network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

#: Samples per second: enough for a 20 s run to resolve 1 % shares, cheap for the target.
SAMPLE_RATE_HZ = 200


def py_spy() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


def start(pid: int, duration: float, out: Path) -> subprocess.Popen[bytes] | None:
    """
    Start sampling `pid` (and its subprocesses) for `duration` seconds into `out`.
    """
    exe = py_spy()
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        exe, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil",
        "--format", "raw", "--rate", str(SAMPLE_RATE_HZ),
        "--duration", str(max(1, round(duration))), "-o", str(out),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(raw: Path, top: int = 25) -> dict[str, Any]:
    """
    Return the top functions by self and by inclusive share of the sampled (non-idle) time.
    """
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        total += n
        self_counts[frames[-1]] += n
        for frame in set(frames):
            incl_counts[frame] += n
    if not total:
        return {"samples": 0, "self": [], "inclusive": []}
    return {
        "samples": total,
        "self": [(f, round(100 * n / total, 1)) for f, n in self_counts.most_common(top)],
        "inclusive": [(f, round(100 * n / total, 1)) for f, n in incl_counts.most_common(top)],
    }


def _short(frame: str) -> str:
    # "send (hypercorn/protocol/ws_stream.py:250)" -> "send (hypercorn/protocol/ws_stream.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def main() -> None:
    """
    `python -m bench.profile FILE`: print a summary of a raw py-spy profile.
    """
    summary = summarize(Path(sys.argv[1]))
    print(f"{summary['samples']} samples")
    for kind in ("self", "inclusive"):
        print(f"-- {kind}")
        for frame, pct in summary[kind]:
            print(f"{pct:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
