"""
bench.wire_micro runs and says what the codecs say: v2 far below v1, v1 as scenario A measured,
and v2's compact stroke `add` (UP_ADD up, tag 2 down) keeps short strokes cheap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import wire_micro
from realtime.wire.compact import UP_ADD, decode_up_add


def test_wire_micro_prints_and_appends_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wire_micro.main(["--seconds", "3", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "freehand 120 Hz" in out and "uniform" in out
    (path,) = tmp_path.glob("*.jsonl")
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["micro"] == "wire" and "machine" in line
    rows = {row["case"]: row for row in line["rows"]}
    assert {r["points_per_op"] for r in rows.values()} == {2, 4, 8}
    assert {r["stroke_apps"] for r in rows.values()} == {10, 20, 60}
    for row in rows.values():
        assert row["v2_up"] < 0.5 * row["v1_up"]
        assert row["v2_down"] < 0.5 * row["v1_down"]
    base = rows["freehand 120 Hz"]
    # Scenario A's v1 figures (4 points per op): ~12.5 up, ~14 down.
    assert 11 < base["v1_up"] < 14 and 12 < base["v1_down"] < 16
    assert base["one_byte_points_pct"] > 90
    assert rows["freehand 120 Hz +pressure"]["v2_up"] > base["v2_up"]
    assert rows["freehand 240 Hz"]["v2_up"] < base["v2_up"] < rows["freehand 60 Hz"]["v2_up"]


def test_up_and_down_headers() -> None:
    assert [wire_micro.up_header(n) for n in (0, 125, 126, 65535, 65536)] == [6, 6, 8, 8, 14]
    assert [wire_micro.down_header(n) for n in (0, 125, 126, 65535, 65536)] == [2, 2, 4, 4, 10]


def test_short_strokes_show_the_add_and_v2_keeps_it_small() -> None:
    names = ("freehand 120 Hz", "freehand 120 Hz, 10-op strokes")
    rows = {
        case.stroke_apps: wire_micro.measure(case, 10, 4.0)
        for case in wire_micro.cases()
        if case.name in names
    }
    long, short = rows[60], rows[10]
    # Six times the strokes: v1 pays ~110 bytes up per add, v2 ~21 (and its style only once).
    assert 100 < short["v1_add_up"] < 125 and short["v2_add_up"] < 25
    assert short["v1_up"] - long["v1_up"] > 1.5
    assert short["v2_up"] - long["v2_up"] < 0.5
    assert short["v1_down"] - long["v1_down"] > 1.5
    assert short["v2_down"] - long["v2_down"] < 0.5
    assert short["v2_down"] < 0.25 * short["v1_down"]


def test_up_frames_of_a_stroke_add() -> None:
    style = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
    op = {"i": 7, "k": "add", "el": {"id": "s1-2", "type": "stroke", "x": -40, "y": 9,
                                     "style": style, "p": [0, 0], "pr": [30]}}  # fmt: skip
    first = wire_micro.up_frame(op, 2, same_style=False)
    again = wire_micro.up_frame(op, 2, same_style=True)
    assert first[0] == again[0] == UP_ADD
    got = decode_up_add(first, 1024)
    assert (got.i, got.id, got.x, got.y, got.style, got.p, got.pr) == (
        7, "s1-2", -40, 9, style, [0, 0], [30])  # fmt: skip
    assert decode_up_add(again, 1024).style is None
    assert len(again) < 20 < 90 < len(wire_micro.up_frame(op, 1, same_style=True))
