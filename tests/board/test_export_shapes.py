"""
Export of issue 16's shapes and styles: diamond, note (with its shadow), frame (beneath, with its
name), dashes and fill patterns, in the SVG and in the rasterised PNG.
"""

from __future__ import annotations

import itertools
from typing import Any

from board.document import materialize
from board.export.render import render_png, render_svg
from board.export.render_shapes import NOTE_FILL, dash_array, hatch_gap
from tests.board.test_export import SVG, decode_png, parse_svg

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


def element(el_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": el_id, "type": kind, "x": 0, "y": 0, "w": 100, "h": 60, "style": dict(STYLE)} | (
        fields
    )


def board(*els: dict[str, Any]) -> Any:
    return materialize(None, [{"k": "add", "el": el} for el in els])


def groups(svg: str) -> dict[str, Any]:
    return {str(g.get("data-id")): g for g in parse_svg(svg) if g.tag == f"{SVG}g"}


def test_a_diamond_is_the_rhombus_through_its_sides_midpoints() -> None:
    g = groups(render_svg(board(element("d", "diamond", x=10, y=20, w=-10, h=40))))["d"]
    [path] = list(g)
    assert path.get("d") == "M5 20L10 40L5 60L0 40Z"
    assert path.get("stroke") == "#1e1e1e"


def test_a_note_has_a_shadow_and_the_default_fill() -> None:
    g = groups(render_svg(board(element("n", "note", w=200, h=200))))["n"]
    shadow, paper = list(g)
    assert (shadow.get("x"), shadow.get("y"), shadow.get("fill-opacity")) == ("4", "4", "0.15")
    assert paper.get("fill") == NOTE_FILL and paper.get("stroke") is None


def test_frames_are_drawn_first_with_their_name_above() -> None:
    state = board(
        element("r", "rect"),
        element("f", "frame", x=-20, y=-20, w=300, h=200, name="Sprint <1>\nplan"),
    )
    found = groups(render_svg(state))
    assert list(found) == ["f", "r"]
    label = found["f"].find(f"{SVG}text")
    assert label is not None
    assert (label.text, label.get("x"), label.get("y")) == ("Sprint <1> plan", "-20", "-26")
    # The name is inside the exported area.
    view = parse_svg(render_svg(state)).get("viewBox")
    assert view is not None and float(view.split()[1]) < -26 - 14


def test_dashes_on_shapes_lines_and_strokes() -> None:
    dashed = {**STYLE, "dash": "dash"}
    state = board(
        element("r", "rect", style=dashed),
        element("l", "line", style={**STYLE, "dash": "dot"}),
        {"id": "s", "type": "stroke", "x": 0, "y": 0, "style": dashed, "p": [0, 0, 5, 5, 5, 0]}
        | {"pr": [50, 50, 50]},
    )
    found = groups(render_svg(state))
    assert dash_array(dashed) == (16, 12)
    assert found["r"][0].get("stroke-dasharray") == "16 12"
    assert found["l"][0].get("stroke-dasharray") == "1 11"
    # A dashed pressure stroke is its dashed centre line, not a filled outline.
    [path] = list(found["s"])
    assert (path.get("fill"), path.get("stroke-dasharray")) == ("none", "16 12")


def test_fill_patterns_are_rotated_patterns_of_the_fill_colour() -> None:
    state = board(
        element("h", "rect", style={**STYLE, "fill": "#e03131", "fs": "hatch"}),
        element("c", "ellipse", style={**STYLE, "fill": "#e03131", "fs": "cross"}),
        element("s", "diamond", style={**STYLE, "fill": "#e03131", "fs": "solid"}),
        element("n", "rect", style={**STYLE, "fs": "hatch"}),
    )
    found = groups(render_svg(state))
    pattern = found["h"].find(f"{SVG}defs/{SVG}pattern")
    assert pattern is not None
    assert pattern.get("id") == "fs-h" and pattern.get("patternTransform") == "rotate(45)"
    assert pattern.get("width") == str(hatch_gap(4))
    assert found["h"].find(f"{SVG}rect").get("fill") == "url(#fs-h)"
    cross = found["c"].find(f"{SVG}defs/{SVG}pattern/{SVG}path")
    assert cross is not None and cross.get("d", "").count("M") == 2
    assert found["s"].find(f"{SVG}path").get("fill") == "#e03131"
    # A pattern without a fill colour draws no fill at all.
    assert found["n"].find(f"{SVG}defs") is None
    assert found["n"].find(f"{SVG}rect").get("fill") == "none"


def _reddish(p: tuple[int, int, int]) -> bool:
    return p[0] - p[1] > 50


def _row(rows: list[bytes], y: int) -> list[tuple[int, int, int]]:
    row = rows[y]
    return [(row[x], row[x + 1], row[x + 2]) for x in range(0, len(row), 3)]


def test_the_png_shows_hatch_lines_where_a_solid_fill_is_uniform() -> None:
    red = {**STYLE, "fill": "#e03131", "width": 2}
    solid = render_png(board(element("a", "rect", w=200, h=200, style=red)))
    hatch = render_png(board(element("a", "rect", w=200, h=200, style={**red, "fs": "hatch"})))
    _w, h, solid_rows = decode_png(solid)
    _w, h, hatch_rows = decode_png(hatch)
    middle = h // 2
    solid_line = [_reddish(p) for p in _row(solid_rows, middle)[40:-40]]
    hatch_line = [_reddish(p) for p in _row(hatch_rows, middle)[40:-40]]
    assert all(solid_line)
    # Lines 10 units apart along the diagonal: about one red run every 14 px across a row.
    assert 0 < sum(hatch_line) < len(hatch_line) / 2
    runs = sum(1 for a, b in itertools.pairwise(hatch_line) if b and not a)
    assert 8 <= runs <= 16
