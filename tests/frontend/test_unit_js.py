"""
The frontend's own unit tests (vitest: codec, golden fixtures, applyOp, outbox, reorder/gap
buffer, SyncClient) and the TypeScript type check, run from pytest so `make test` covers them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
#: npm ci plus a cold vitest start on a 2-core box stays well under this.
NPM_TIMEOUT_SECS = 110


@pytest.mark.timeout(NPM_TIMEOUT_SECS + 5)
def test_vitest_and_typecheck_pass() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is required to test the frontend (Node 20 + npm)"
    if not (FRONTEND / "node_modules" / ".bin" / "vitest").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=FRONTEND,
            check=True,
            timeout=NPM_TIMEOUT_SECS,
        )
    result = subprocess.run(
        [npm, "test", "--prefix", str(FRONTEND)],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECS,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
