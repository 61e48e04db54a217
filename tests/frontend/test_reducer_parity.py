"""
The client's applyOp (frontend/src/ops.ts) and the server's reducer (board.document.reducer) agree:
seeded random op sequences, including the edge cases (updates of keys a type does not have,
repeated ids in mov and rst, appends without pressure, coordinates at the clamp) replay to the
same elements in the same z-order in both. Arrows bound to shapes (present, missing or of a
type that cannot be bound), groups, lock and `ord` are in the mix.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from board.document import BoardState, apply_in_place
from board.document.limits import COORD_MAX

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SEEDS = range(40)
OPS_PER_CASE = 120
STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


def _element(rnd: random.Random, n: int, ids: list[str] | None = None) -> dict[str, Any]:
    kind = rnd.choice(
        [
            "stroke",
            "rect",
            "ellipse",
            "line",
            "arrow",
            "arrow",
            "text",
            "diamond",
            "note",
            "frame",
            "image",
        ]
    )
    el: dict[str, Any] = {
        "id": f"e{rnd.randrange(n + 1)}",  # small id space: collisions exercise "add exists"
        "type": kind,
        "x": rnd.choice([0, 5, COORD_MAX - 3, -COORD_MAX + 2]),
        "y": rnd.randrange(-50, 50),
        "style": {**STYLE, "width": rnd.choice([1, 4, 12.5])},
    }
    if kind == "stroke":
        el["p"] = [0, 0, 1, 2]
        if rnd.random() < 0.5:
            el["pr"] = [40, 60]
    elif kind == "text":
        el.update(text="hi", size=24)
        if rnd.random() < 0.3:
            el.update(align=rnd.choice(["left", "center", "right"]), w=rnd.choice([1, 120]))
    else:
        el.update(w=rnd.randrange(-30, 30), h=rnd.randrange(-30, 30))
        if kind == "image":
            el["asset"] = rnd.choice(["ab" * 32, "0" * 64])
        if kind in ("line", "arrow"):
            for key in ("sb", "eb"):
                if rnd.random() < 0.6:
                    el[key] = _binding(rnd, n, ids or [])
        if kind == "frame":
            el["name"] = rnd.choice(["", "Frame 1"])
        if rnd.random() < 0.3:
            el["style"].update(dash="dot", fs=rnd.choice(["hatch", "cross"]), font="serif")
    if rnd.random() < 0.2:
        el["grp"] = [f"g{rnd.randrange(3)}"]
    if rnd.random() < 0.1:
        el["lock"] = True
    if kind in ("rect", "ellipse") and rnd.random() < 0.3:
        el.update(text="label", size=20, align="left")
    if rnd.random() < 0.3:
        el["rot"] = rnd.choice([15, 90, 359.99])
    if kind == "stroke" and rnd.random() < 0.3:
        el.update(sx=rnd.choice([2, -0.5]), sy=rnd.choice([0.01, 100]))
    return el


def _binding(rnd: random.Random, n: int, ids: list[str]) -> dict[str, Any]:
    # Mostly an element on the board, else any id of the small space: a rect, an arrow, a
    # stroke or nothing (the reducer ignores what cannot be bound).
    target = rnd.choice(ids) if ids and rnd.random() < 0.7 else f"e{rnd.randrange(n + 1)}"
    return {"id": target, "fx": rnd.choice([0, 333, 500, 1000]), "fy": 999}


def _op(rnd: random.Random, ids: list[str], i: int) -> dict[str, Any]:
    pick = lambda: rnd.choice(ids) if ids else "none"  # noqa: E731
    r = rnd.random()
    if r < 0.3 or not ids:
        return {"i": i, "k": "add", "el": _element(rnd, i, ids)}
    if r < 0.5:
        op: dict[str, Any] = {"i": i, "k": "app", "id": pick(), "p": [1, -1, 2, 0]}
        if rnd.random() < 0.5:
            op["pr"] = [55, 70]
        return op
    if r < 0.65:
        patch: dict[str, Any] = rnd.choice(
            [
                {"style": {"color": "#e03131"}},
                {"w": 7, "h": 9},
                {"text": "yo", "size": 30},
                {"x": 1},
                {"sb": _binding(rnd, i, ids), "w": 3},
                {"eb": None, "grp": ["g1", "g0"]},
                {"sb": None, "lock": None, "grp": None},
                {"x": -COORD_MAX, "y": COORD_MAX, "w": -2 * COORD_MAX, "h": 2 * COORD_MAX},
                {"align": "right", "w": 80},
                {"text": None, "size": None, "align": None},
                {"w": None},
                {"w": -5},
                {"style": {"dash": "dash", "fs": None, "font": "mono"}},
                {"style": {"dash": None, "fill": "#ffec99"}},
                {"name": "Renamed", "w": 12},
                {"rot": 45.5, "x": 3, "y": -2},
                {"rot": None},
                {"sx": 1.5, "sy": -2, "rot": 30},
                {"sx": None, "sy": None},
            ]
        )
        return {"i": i, "k": "upd", "id": pick(), "set": patch}
    if r < 0.7:
        after = rnd.choice([None, pick(), "missing"])
        return {"i": i, "k": "ord", "ids": [pick(), pick(), "missing"], "after": after}
    if r < 0.8:
        moved = [pick(), pick(), "missing"]
        return {"i": i, "k": "mov", "ids": moved, "dx": rnd.choice([3, COORD_MAX]), "dy": -2}
    if r < 0.93:
        return {"i": i, "k": "del", "ids": [pick(), "missing"]}
    if r < 0.97:
        return {"i": i, "k": "clr"}
    els = [_element(rnd, 3) for _ in range(4)]
    return {"i": i, "k": "rst", "from": 1, "els": els}


def _case(seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    state = BoardState()
    ops = []
    for i in range(1, OPS_PER_CASE + 1):
        op = _op(rnd, list(state.elements), i)
        apply_in_place(state, json.loads(json.dumps(op)))
        ops.append(op)
    return ops


def _server_replay(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    state = BoardState()
    for op in ops:
        apply_in_place(state, json.loads(json.dumps(op)))  # the reducer copies; keep ops pristine
    return list(state.elements.values())


@pytest.mark.timeout(60)
def test_client_and_server_reducers_agree(tmp_path: Path) -> None:
    node = shutil.which("node")
    esbuild = FRONTEND / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.skip("needs node and the frontend's node_modules (make -C frontend build)")
    bundle = tmp_path / "replay.mjs"
    subprocess.run(
        [
            str(esbuild),
            "src/cli/replay.ts",
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        cwd=FRONTEND,
        check=True,
        timeout=30,
    )
    cases = [_case(seed) for seed in SEEDS]
    result = subprocess.run(
        [node, str(bundle)], input=json.dumps(cases), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    for seed, ops, got in zip(SEEDS, cases, client, strict=True):
        assert got == _server_replay(ops), f"seed {seed}: client and server reducers differ"
