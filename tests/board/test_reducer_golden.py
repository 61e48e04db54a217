"""
Golden reducer cases shared with the browser client: tests/board/fixtures/reducer_cases.json.

Each case is a board (elements in z-order), one op and the board after it, computed by the
server's reducer. frontend/src/ops.ts must produce the same result for every case, the stale
ones included, or clients and server diverge. Regenerate after an intended reducer change with
`INKROOM_REGEN_GOLDEN=1 pytest tests/board/test_reducer_golden.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from board.document import BoardState, Limits, materialize, validate_op

GOLDEN = Path(__file__).parent / "fixtures" / "reducer_cases.json"
STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


def _el(el_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": el_id, "type": kind, "x": 10, "y": 20, "style": dict(STYLE), **fields}


STROKE = _el("s", "stroke", p=[0, 0, 2, 1], pr=[40, 50])
PLAIN = _el("m", "stroke", p=[0, 0, 1, 1])
RECT = _el("r", "rect", w=30, h=-20)
TEXT = _el("t", "text", text="hi", size=16)
BOARD = [STROKE, PLAIN, RECT, TEXT]

CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    ("add on top", BOARD, {"k": "add", "el": _el("n", "ellipse", w=4, h=4)}),
    ("add existing id is a no-op", BOARD, {"k": "add", "el": _el("r", "line", w=1, h=1)}),
    ("app extends points and pressure", BOARD, {"k": "app", "id": "s", "p": [1, 1], "pr": [60]}),
    ("app without pressure pads 50", BOARD, {"k": "app", "id": "s", "p": [1, 1, 1, 1]}),
    (
        "app pressure on a plain stroke ignored",
        BOARD,
        {"k": "app", "id": "m", "p": [3, 3], "pr": [9]},
    ),
    ("app to a rect is a no-op", BOARD, {"k": "app", "id": "r", "p": [1, 1]}),
    ("app to a missing id is a no-op", BOARD, {"k": "app", "id": "zz", "p": [1, 1]}),
    (
        "upd merges style key by key",
        BOARD,
        {"k": "upd", "id": "r", "set": {"style": {"fill": "#ff0000"}, "w": 5}},
    ),
    (
        "upd skips fields the type lacks",
        BOARD,
        {"k": "upd", "id": "s", "set": {"w": 5, "text": "x", "x": 1}},
    ),
    ("upd text and size", BOARD, {"k": "upd", "id": "t", "set": {"text": "bye", "size": 40}}),
    ("upd missing id is a no-op", BOARD, {"k": "upd", "id": "zz", "set": {"x": 1}}),
    (
        "mov moves each present id once",
        BOARD,
        {"k": "mov", "ids": ["r", "r", "zz", "s"], "dx": 5, "dy": -5},
    ),
    (
        "mov clamps to the coordinate range",
        BOARD,
        {"k": "mov", "ids": ["t"], "dx": 20_000_000, "dy": -20_000_000},
    ),
    ("del ignores missing ids", BOARD, {"k": "del", "ids": ["m", "zz"]}),
    ("clr", BOARD, {"k": "clr"}),
    (
        "rst replaces everything",
        BOARD,
        {"k": "rst", "from": 3, "els": [RECT, _el("q", "arrow", w=3, h=3)]},
    ),
]


def build_cases() -> list[dict[str, Any]]:
    cases = []
    for i, (name, before, body) in enumerate(CASES, 1):
        op = validate_op({"i": i, **body}, Limits(), allow_server_kinds=True)
        state = materialize(BoardState(), [{"k": "add", "el": el} for el in before])
        state.seq = 10
        entry = {**op, "s": 11, "c": "golden", "u": None}
        after = materialize(state, [entry])
        cases.append(
            {
                "name": name,
                "before": {"seq": 10, "els": before},
                "op": entry,
                "after": {"seq": after.seq, "els": list(after.elements.values())},
            }
        )
    return cases


def test_golden_reducer_cases_match_the_reducer() -> None:
    cases = build_cases()
    # One case per line: diffs stay readable and the file small.
    text = "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n"
    if os.environ.get("INKROOM_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    stored = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert stored == cases, f"{GOLDEN} is stale; regenerate it (see module docstring)"


def test_golden_cases_replay_from_the_file() -> None:
    for case in json.loads(GOLDEN.read_text(encoding="utf-8")):
        before = BoardState.from_snapshot(
            {"v": 1, "s": case["before"]["seq"], "els": case["before"]["els"]}
        )
        after = materialize(before, [case["op"]])
        assert list(after.elements.values()) == case["after"]["els"], case["name"]
        assert after.seq == case["after"]["seq"]
