"""
bench.wire_micro runs and says what the codecs say: v2 far below v1, v1 as scenario A measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import wire_micro


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
