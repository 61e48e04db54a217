"""
board.export.freehand against perfect-freehand itself (frontend/node_modules, run with node):
the same outline points for the canvas's options, on seeded random strokes.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from board.export.freehand import outline, outline_path, stroke_points

MODULE = (
    Path(__file__).resolve().parents[2]
    / "frontend/node_modules/perfect-freehand/dist/esm/index.mjs"
)

SCRIPT = """
import { getStroke } from %s;
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map(([pts, size, thinning, simulate]) => getStroke(pts, {
  size, thinning, smoothing: 0.5, streamline: 0.4, simulatePressure: simulate, last: true }))));
"""


def cases() -> list[tuple[list[list[float]], float, float, bool]]:
    rng = random.Random(16)
    out = []
    for n in (1, 2, 3, 5, 12, 40):
        for _ in range(3):
            x, y = rng.randint(-50, 50), rng.randint(-50, 50)
            pts = []
            for _ in range(n):
                x += rng.randint(-30, 30)
                y += rng.randint(-30, 30)
                pts.append([x, y, rng.choice([0.5, rng.randint(0, 100) / 100])])
            out.append(
                (pts, rng.choice([2, 4, 8, 16]), rng.choice([0.0, 0.25, 0.6]), rng.random() < 0.5)
            )
    return out


@pytest.mark.skipif(
    not MODULE.exists() or shutil.which("node") is None, reason="needs node + npm deps"
)
def test_outlines_match_perfect_freehand() -> None:
    todo = cases()
    script = SCRIPT % json.dumps(MODULE.as_uri())
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(todo)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = json.loads(result.stdout)
    for (pts, size, thinning, simulate), want in zip(todo, expected, strict=True):
        got = outline(stroke_points([tuple(p) for p in pts], size), size, thinning, simulate)
        assert len(got) == len(want), (pts, size, thinning, simulate)
        for g, w in zip(got, want, strict=True):
            assert g == pytest.approx(tuple(w), abs=1e-6)


def test_outline_path_is_the_canvas_path_closed_through_midpoints() -> None:
    assert outline_path([(0, 0), (10, 0), (10, 10)]) == (
        "M0.0 0.0Q0.0 0.0 5.0 0.0Q10.0 0.0 10.0 5.0Q10.0 10.0 5.0 5.0Z"
    )
    assert outline_path([]) == ""
