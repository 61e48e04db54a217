"""
Smoke test of the benchmark runner (`make bench` runs `python -m bench all`).

Runs scenario A for one second at a tenth of its size against a real Inkroom server and the
Channels-docs reference server, and checks that the runner appends result lines carrying the
fields docs/performance.md reads. It asserts that ops flowed, never how fast: speed is the
benchmark's business, not the test suite's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Inside the bench's port range (18400-18499) but clear of a full bench run's ports.
DEFAULT_PORT_BASE = 18450
#: Ports one bench invocation binds above its base (bench.targets: base + 11 .. base + 50).
BENCH_PORT_SPAN = 50


def smoke_port_base() -> int:
    """
    Return the bench's --port-base: the top of INKROOM_TEST_PORTS when it is wide enough.

    Engineers sharing a box each get a range there; a fixed base would collide between them.
    """
    lo, _, hi = os.environ.get("INKROOM_TEST_PORTS", "").partition("-")
    if lo.isdigit() and hi.isdigit() and int(hi) - int(lo) >= BENCH_PORT_SPAN:
        return int(hi) - BENCH_PORT_SPAN
    return DEFAULT_PORT_BASE


FIELDS = {
    "ts", "scenario", "target", "clients", "connected", "ops_sent", "expected_deliveries",
    "delivered", "loss", "duplicates", "deliveries_per_s", "latency_ms", "ack_ms",
    "server_frames_in_per_s", "server_frames_out_per_s", "up_bytes_per_point",
    "down_bytes_per_point", "server_cpu_pct", "server_rss_mib", "loadgen_cpu_pct", "machine",
}  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess, pytest.mark.requires_postgres]


def test_bench_a_writes_result_lines(tmp_path: Path) -> None:
    env = dict(os.environ)
    db = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    env["BENCH_DATABASE_URL"] = db.rsplit("/", 1)[0] + "/inkroom_bench_smoke"
    env.pop("REDIS_URL", None)
    cmd = [
        sys.executable, "-m", "bench", "A", "--duration", "1", "--drain", "1", "--scale", "0.1",
        "--no-redis", "--port-base", str(smoke_port_base()), "--results-dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for f in tmp_path.glob("*.jsonl") for line in f.open()]
    assert [(r["scenario"], r["target"]) for r in lines] == [
        ("A", "inkroom"),
        ("A", "channels-ref"),
    ]
    for row in lines:
        assert row.keys() >= FIELDS, FIELDS - row.keys()
        assert row["connected"] == row["clients"] == 5
        assert row["ops_sent"] > 0
        assert row["delivered"] > 0
    inkroom = lines[0]
    assert inkroom["ops_acked"] == inkroom["ops_sent"]
    assert inkroom["duplicates"] == 0
    assert "p99" in inkroom["latency_ms"]
    # What the run asked of PostgreSQL (bench/backends.py): WAL for its ops, a commit per tick.
    costs = inkroom["unit_costs"]
    assert costs.get("pg_wal_bytes_per_op", 0) > 0, inkroom["backends"]
    assert 0.5 <= costs["pg_write_transactions_per_tick"] <= 2, inkroom["backends"]
    assert "A" in proc.stdout and "inkroom" in proc.stdout
