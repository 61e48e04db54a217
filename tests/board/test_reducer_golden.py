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
    return {"id": el_id, "type": kind, "x": 10, "y": 20, "style": dict(STYLE)} | fields


STROKE = _el("s", "stroke", p=[0, 0, 2, 1], pr=[40, 50])
PLAIN = _el("m", "stroke", p=[0, 0, 1, 1])
RECT = _el("r", "rect", w=30, h=-20)
TEXT = _el("t", "text", text="hi", size=16)
IMAGE = _el("g", "image", w=64, h=48, asset="ab" * 32)
BOARD = [STROKE, PLAIN, RECT, TEXT]
#: An ellipse and an arrow from the rect's centre to the ellipse's right edge.
OVAL = _el("o", "ellipse", w=7, h=9, x=100, grp=["g1"])
ARROW = _el(
    "a",
    "arrow",
    w=0,
    h=0,
    sb={"id": "r", "fx": 500, "fy": 500},
    eb={"id": "o", "fx": 1000, "fy": 333},
)
BOUND = [*BOARD, OVAL, ARROW]

CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    ("add on top", BOARD, {"k": "add", "el": _el("n", "ellipse", w=4, h=4)}),
    ("add an image", BOARD, {"k": "add", "el": IMAGE}),
    (
        "upd resizes an image and skips what it lacks",
        [*BOARD, IMAGE],
        {"k": "upd", "id": "g", "set": {"w": 32, "h": -24, "text": "x", "style": {"opacity": 0.5}}},
    ),
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
    (
        "upd sets a text's wrap width and alignment",
        BOARD,
        {"k": "upd", "id": "t", "set": {"w": 120, "align": "center"}},
    ),
    (
        "upd adds a label to a rect",
        BOARD,
        {"k": "upd", "id": "r", "set": {"text": "a label", "size": 20, "align": "left"}},
    ),
    (
        "upd null removes a label and a wrap width",
        [*BOARD[:2], {**RECT, "text": "x", "size": 9}, {**TEXT, "w": 50, "align": "right"}],
        {"k": "upd", "id": "r", "set": {"text": None, "size": None}},
    ),
    (
        "upd null removes a text's wrap width",
        [*BOARD[:3], {**TEXT, "w": 50, "align": "right"}],
        {"k": "upd", "id": "t", "set": {"w": None, "align": None}},
    ),
    (
        "upd of a shape width on a text skips a width out of the wrap range",
        BOARD,
        {"k": "upd", "id": "t", "set": {"w": -30, "x": 2}},
    ),
    ("upd missing id is a no-op", BOARD, {"k": "upd", "id": "zz", "set": {"x": 1}}),
    (
        "upd rotates and scales a stroke",
        BOARD,
        {"k": "upd", "id": "s", "set": {"rot": 22.5, "sx": -2, "sy": 0.5, "x": 3}},
    ),
    (
        "upd null removes rot",
        [_el("r", "rect", w=30, h=20, rot=90)],
        {"k": "upd", "id": "r", "set": {"rot": None}},
    ),
    ("upd scale on a rect is skipped", BOARD, {"k": "upd", "id": "r", "set": {"sx": 3, "rot": 0}}),
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
    ("add an arrow bound at both ends", [*BOARD, OVAL], {"k": "add", "el": ARROW}),
    ("mov of a target: the arrow follows", BOUND, {"k": "mov", "ids": ["r"], "dx": 7, "dy": 3}),
    (
        "mov of a target and its arrow: re-anchored once",
        BOUND,
        {"k": "mov", "ids": ["a", "o"], "dx": -5, "dy": 11},
    ),
    (
        "upd of a target's size: the arrow follows",
        BOUND,
        {"k": "upd", "id": "o", "set": {"w": -40}},
    ),
    (
        "upd rebinds the start, geometry from the new target",
        BOUND,
        {"k": "upd", "id": "a", "set": {"sb": {"id": "o", "fx": 0, "fy": 0}, "x": 1}},
    ),
    ("upd null removes a binding", BOUND, {"k": "upd", "id": "a", "set": {"eb": None}}),
    (
        "binding to a stroke or a missing id is kept and ignored",
        BOARD,
        {"k": "add", "el": _el("b", "line", w=5, h=5, sb={"id": "s", "fx": 0, "fy": 0})},
    ),
    ("del of a target keeps the binding", BOUND, {"k": "del", "ids": ["r"]}),
    ("re-adding a target re-attaches", [*BOARD[:2], TEXT, OVAL, ARROW], {"k": "add", "el": RECT}),
    (
        "upd groups and lock",
        BOUND,
        {"k": "upd", "id": "s", "set": {"grp": ["g2", "g1"], "lock": True}},
    ),
    ("upd null removes groups", BOUND, {"k": "upd", "id": "o", "set": {"grp": None}}),
    ("ord to the bottom", BOUND, {"k": "ord", "ids": ["t", "zz", "r", "t"], "after": None}),
    ("ord above an element", BOUND, {"k": "ord", "ids": ["a", "s"], "after": "r"}),
    ("ord after a missing element is a no-op", BOUND, {"k": "ord", "ids": ["s"], "after": "zz"}),
    ("ord after a listed element is a no-op", BOUND, {"k": "ord", "ids": ["s", "m"], "after": "m"}),
    ("add a diamond", BOARD, {"k": "add", "el": _el("d", "diamond", w=40, h=30)}),
    (
        "add a note with a style's new keys",
        BOARD,
        {
            "k": "add",
            "el": _el(
                "n",
                "note",
                w=200,
                h=200,
                style={**STYLE, "fill": "#ffec99", "dash": "dot", "fs": "hatch", "font": "mono"},
            ),
        },
    ),
    ("add a frame", BOARD, {"k": "add", "el": _el("f", "frame", w=300, h=200, name="Plan")}),
    (
        "upd sets dash and fill pattern",
        BOARD,
        {"k": "upd", "id": "r", "set": {"style": {"dash": "dash", "fs": "cross"}}},
    ),
    (
        "upd null removes a style key",
        [_el("r", "rect", w=3, h=3, style={**STYLE, "dash": "dot", "font": "serif"})],
        {"k": "upd", "id": "r", "set": {"style": {"dash": None, "fs": None}}},
    ),
    (
        "upd a frame's name and size",
        [_el("f", "frame", w=3, h=3, name="A")],
        {"k": "upd", "id": "f", "set": {"name": "B", "w": 50, "text": "no"}},
    ),
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
                # As the adds left them: bound arrows already resolved.
                "before": {"seq": 10, "els": list(state.elements.values())},
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
