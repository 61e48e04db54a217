"""
Export: SVG that parses and holds every element, PNG from resvg within its bounds, and JSON.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from board.document import BoardState, bbox, materialize
from board.document.points import decode_points
from board.export.render import (
    EMPTY_SIDE,
    MARGIN,
    PNG_MAX_SIDE,
    content_box,
    png_size,
    render_json,
    render_json_bytes,
    render_png,
    render_svg,
)
from board.export.thumbnail import (
    THUMBNAIL_SIZE,
    render_thumbnail,
    thumbnail_box,
    thumbnail_state,
)
from tests.board.strategies import op_logs
from tests.support.png import decode_png

SVG = "{http://www.w3.org/2000/svg}"
STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
TRICKY_TEXT = "a < b && c > d \"quoted\" 'single' ]]> <!-- no --> ünï\ncode\r\nlast"


def element(el_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": el_id, "type": kind, "x": 0, "y": 0, "style": dict(STYLE), **fields}


def sample_board() -> BoardState:
    elements = [
        element("pen", "stroke", x=10, y=10, p=[0, 0, 30, 5, 20, 30, -10, 10], pr=[10, 50, 90, 40]),
        element("mouse", "stroke", x=100, y=10, p=[0, 0, 30, 5, 20, 30]),
        element("dot", "stroke", x=200, y=10, p=[0, 0]),
        element("empty", "stroke", x=210, y=10, p=[], pr=[]),
        element("box", "rect", y=80, w=50, h=-30, style={**STYLE, "fill": "#ff0000"}),
        element("arr", "arrow", x=60, y=80, w=80, h=40),
        element("ln", "line", x=60, y=150, w=-40, h=0),
        element("oval", "ellipse", x=150, y=100, w=40, h=20, style={**STYLE, "opacity": 0.5}),
        element("note", "text", x=10, y=170, text=TRICKY_TEXT, size=20),
    ]
    return materialize(None, [{"k": "add", "el": el} for el in elements])


def parse_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def test_svg_parses_and_holds_every_element_in_z_order() -> None:
    state = sample_board()
    root = parse_svg(render_svg(state))
    groups = [g for g in root if g.tag == f"{SVG}g"]
    assert [g.get("data-id") for g in groups] == list(state.elements)
    by_id = {g.get("data-id"): g for g in groups}

    def attr(el_id: str, tag: str, name: str) -> str | None:
        found = by_id[el_id].find(f"{SVG}{tag}")
        assert found is not None, (el_id, tag)
        return found.get(name)

    # Every stroke is the filled outline the canvas draws (board.export.freehand).
    assert attr("pen", "path", "fill") == attr("mouse", "path", "fill") == "#1e1e1e"
    assert attr("dot", "path", "d").endswith("Z")  # type: ignore[union-attr]
    assert attr("empty", "circle", "cx") == "210"
    assert attr("box", "rect", "fill") == "#ff0000"
    assert attr("box", "rect", "height") == "30"
    # The arrowhead as the canvas draws it: two strokes back from the tip (80, 40 from (60, 80)),
    # each pi/7 off the shaft, 16 long (4 widths of 4): not a filled triangle.
    head = by_id["arr"].find(f"{SVG}path")
    assert head is not None and head.get("fill") == "none" and head.get("stroke-width") == "4"
    assert by_id["arr"].find(f"{SVG}line").get("x2") == "140"  # type: ignore[union-attr]
    assert head.get("d") == "M124 119.76L140 120L130.21 107.34"
    assert by_id["oval"].get("opacity") == "0.5"
    lines = [t.text for t in by_id["note"].iter(f"{SVG}text")]
    assert lines == ["a < b && c > d \"quoted\" 'single' ]]> <!-- no --> ünï", "code", "last"]


def test_svg_viewbox_encloses_every_element_with_a_margin() -> None:
    state = sample_board()
    x, y, w, h = (float(v) for v in str(parse_svg(render_svg(state)).get("viewBox")).split())
    for el in state.elements.values():
        minx, miny, maxx, maxy = bbox(el)
        assert x + MARGIN <= minx + 1 and y + MARGIN <= miny + 1
        assert maxx <= x + w - MARGIN + 1 and maxy <= y + h - MARGIN + 1


def test_empty_board_renders_a_small_blank_svg() -> None:
    root = parse_svg(render_svg(BoardState()))
    assert root.get("viewBox") == f"0 0 {EMPTY_SIDE} {EMPTY_SIDE}"
    assert [child.tag for child in root] == [f"{SVG}rect"]


def test_png_has_the_signature_and_draws_the_content() -> None:
    state = sample_board()
    png = render_png(state, scale=2)
    width, height, rows = decode_png(png)
    _x, _y, w, h = content_box(state)
    assert (width, height) == (w * 2, h * 2)
    pixels = {row[i : i + 3] for row in rows for i in range(0, len(row), 3)}
    assert b"\xff\xff\xff" in pixels  # background
    assert b"\xff\x00\x00" in pixels  # the red rectangle's fill
    assert len(pixels) > 10  # anti-aliased ink, not a blank page


def test_empty_board_png_is_blank() -> None:
    width, height, rows = decode_png(render_png(BoardState()))
    assert (width, height) == (EMPTY_SIDE, EMPTY_SIDE)
    assert {row for row in rows} == {b"\xff" * 3 * EMPTY_SIDE}


def test_png_size_is_bounded() -> None:
    huge = materialize(
        None, [{"k": "add", "el": element("r", "rect", x=-5_000_000, w=10_000_000, h=3_000_000)}]
    )
    width, height = png_size(huge, scale=4.0, max_pixels=1_000_000)
    assert width * height <= 1_000_000 and max(width, height) <= PNG_MAX_SIDE
    wide = materialize(None, [{"k": "add", "el": element("l", "line", w=1_000_000, h=0)}])
    assert png_size(wide, 1.0, 10**12)[0] == PNG_MAX_SIDE
    png_width, png_height, _rows = decode_png(render_png(huge, max_pixels=40_000))
    assert png_width * png_height <= 40_000
    with pytest.raises(ValueError, match="scale"):
        render_png(huge, scale=0)


def test_json_export_is_the_wire_form_in_z_order() -> None:
    state = sample_board()
    data = render_json(state)
    assert data["version"] == 1 and data["seq"] == state.seq
    assert data["elements"] == list(state.elements.values())
    assert json.loads(render_json_bytes(state)) == data
    data["elements"][0]["p"].append(9)  # the export is a copy
    assert len(state.elements["pen"]["p"]) == 8


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(op_logs(max_size=25))
def test_any_board_renders_to_well_formed_svg(log: list[dict[str, Any]]) -> None:
    state = materialize(None, log)
    root = parse_svg(render_svg(state))
    # Frames are drawn beneath everything, each kind in z-order.
    frames = [el_id for el_id, el in state.elements.items() if el["type"] == "frame"]
    others = [el_id for el_id in state.elements if el_id not in frames]
    assert [g.get("data-id") for g in root if g.tag == f"{SVG}g"] == frames + others


def dark_columns(rows: list[bytes]) -> list[int]:
    """
    The x of every column holding a dark pixel (RGB rows from decode_png).
    """
    return sorted(
        {x // 3 for row in rows for x in range(0, len(row), 3) if max(row[x : x + 3]) < 100}
    )


def test_thumbnail_is_320_by_200_and_fits_a_wide_board() -> None:
    wide = materialize(None, [{"k": "add", "el": element("w", "line", x=0, y=0, w=20_000, h=0)}])
    width, height, rows = decode_png(render_thumbnail(wide))
    assert (width, height) == THUMBNAIL_SIZE
    columns = dark_columns(rows)
    # The whole line shows, across nearly all of the width.
    assert columns[0] < 10 and columns[-1] > width - 10


def test_thumbnail_does_not_magnify_a_small_drawing() -> None:
    small = materialize(None, [{"k": "add", "el": element("s", "line", x=0, y=0, w=40, h=0)}])
    _width, _height, rows = decode_png(render_thumbnail(small))
    columns = dark_columns(rows)
    assert 30 <= columns[-1] - columns[0] <= 50  # 40 units at 1:1, centred
    assert 100 < columns[0] < 160


def test_empty_board_thumbnail_is_blank() -> None:
    _width, _height, rows = decode_png(render_thumbnail(BoardState()))
    assert dark_columns(rows) == []


def test_thumbnail_thins_out_stroke_points_and_keeps_both_ends() -> None:
    # 2,000 points one unit apart on a board 20,000 units wide: 62.5 units a thumbnail pixel.
    p = [1, 0] * 2000
    stroke = element("s", "stroke", x=0, y=0, p=p, pr=[k % 100 for k in range(2000)])
    far = element("far", "line", x=19_000, y=0, w=1000, h=0)
    board = materialize(None, [{"k": "add", "el": stroke}, {"k": "add", "el": far}])
    drawn = thumbnail_state(board, thumbnail_box(board)).elements["s"]
    kept = list(decode_points(drawn))
    assert 20 < len(kept) < 40 and len(drawn["pr"]) == len(kept)
    assert kept[0] == (1, 0) and kept[-1] == (2000, 0)
    assert drawn["style"]["width"] >= 2 * 20_000 / THUMBNAIL_SIZE[0] - 200
    # The board itself is untouched.
    assert len(board.elements["s"]["p"]) == 4000
