"""
Smoke test of the canvas benchmark (`python -m bench canvas`, issue 17): a board of 500
elements, a few frames of each gesture at device pixel ratios 1 and 2. It asserts that the run
completes and reports every figure, never how fast: speed is the benchmark's business.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.canvas import COLUMNS
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.multiprocess,
    pytest.mark.requires_postgres,
]


def test_bench_canvas_reports_every_figure(tmp_path: Path) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    env = dict(os.environ)
    db = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    env["BENCH_DATABASE_URL"] = f"{db}_canvas_smoke"
    cmd = [
        sys.executable, "-m", "bench", "canvas", "--elements", "500", "--dpr", "1,2",
        "--frames", "0.05", "--port-base", str(free_port()), "--results-dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for f in tmp_path.glob("*.jsonl") for line in f.open()]
    assert [(r["scenario"], r["code"], r["dpr"], r["elements"]) for r in rows] == [
        ("canvas", "after", 1.0, 500),
        ("canvas", "after", 2.0, 500),
    ]
    for row in rows:
        figures = row["figures"]
        for kind in ("pan", "zoom", "ink"):
            assert figures[f"{kind}_p95"] > 0, figures
        assert figures["first_draw"] > 0 and figures["ready"] >= figures["first_draw"], figures
        assert figures["js_heap"] > 0 and figures["page_memory"] > 0, figures
        assert figures["zoom_at_open"] == 1, "the board must open fully in view at 100 %"
        assert {key for key, _ in COLUMNS} <= figures.keys()
    header = proc.stdout.splitlines()[-4]
    assert all(title in header for _, title in COLUMNS), proc.stdout
