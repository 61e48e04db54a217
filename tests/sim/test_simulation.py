"""
The simulation in the suite: 2,000 seeds (`make soak SEEDS=N` runs more), and replays are exact.

Each run is a subprocess: the simulation pins string hashing (PYTHONHASHSEED=0) and puts the
engine's clocks on virtual time, neither of which may leak into the other tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

SEEDS = int(os.environ.get("INKROOM_SIM_SEEDS", "2000"))


def _sim(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.sim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_seed_keeps_every_invariant() -> None:
    workers = str(min(4, os.cpu_count() or 1))
    done = _sim("--seeds", f"0-{SEEDS - 1}", "--workers", workers, timeout=1100)
    print(done.stdout[-4000:])  # the seeds/s line, and each failing seed's replay command
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{SEEDS} seeds in" in done.stdout


@pytest.mark.timeout(300)
def test_a_seed_replays_exactly() -> None:
    first, second = (_sim("--seed", "21", timeout=120) for _ in range(2))
    assert first.returncode == second.returncode == 0, first.stdout + first.stderr
    digests = [line for line in first.stdout.splitlines() if "log digest" in line]
    assert digests and digests == [
        line for line in second.stdout.splitlines() if "log digest" in line
    ]


@pytest.mark.timeout(300)
def test_compact_tentatives_are_promoted_and_fall_back_under_faults() -> None:
    """
    The mix of clients has `tentative=2` ones (protocol §2.6): their entries come promoted from
    DOWN_TENT batches, and the invariants hold for them as for the others.
    """
    done = _sim("--seeds", "0-39", timeout=240)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    match = re.search(r"(\d+) ops stored, (\d+) entries promoted", done.stdout)
    assert match, done.stdout
    stored, promoted = int(match[1]), int(match[2])
    assert promoted > stored / 20, done.stdout
