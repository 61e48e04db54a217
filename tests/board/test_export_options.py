"""
Export options (board.export.options) and the dark colour rule (board.export.dark).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import msgpack
import pytest

from board.document import BoardState, materialize
from board.export.budget import Budget
from board.export.dark import dark_color, dark_element
from board.export.errors import ExportOptionError
from board.export.options import ExportOptions, export_box, select
from board.export.render import render_svg
from board.export.task import DEFAULT_OPTIONS, ExportSource, run_export
from tests.support.png import decode_png

SVG = "{http://www.w3.org/2000/svg}"
STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
ROOMY = Budget(max_glyphs=10**9, max_points=10**9)


def el(el_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": el_id, "type": kind, "x": 0, "y": 0, "style": dict(STYLE), **fields}


def board() -> BoardState:
    return materialize(
        None,
        [
            {"k": "add", "el": el("a", "rect", x=0, y=0, w=40, h=30)},
            {"k": "add", "el": el("b", "ellipse", x=200, y=100, w=40, h=20)},
        ],
    )


def render(state: BoardState, fmt: str, options: ExportOptions) -> bytes:
    snapshot = msgpack.packb(state.to_snapshot())
    body = run_export(fmt, ExportSource(seq=state.seq, snapshot=snapshot, ops=[]), ROOMY, options)
    assert body.body is not None
    return body.body


def view_box(svg: bytes) -> list[float]:
    return [float(v) for v in ET.fromstring(svg).attrib["viewBox"].split()]


def test_default_options_render_what_an_export_without_options_did() -> None:
    state = board()
    assert render(state, "svg", DEFAULT_OPTIONS) == render_svg(state).encode()
    # The same options spelt out render the same picture.
    assert render(state, "svg", ExportOptions(padding=16, background=True, scale=1)) == render(
        state, "svg", DEFAULT_OPTIONS
    )


def test_padding_sets_the_space_around_the_content() -> None:
    state = board()
    # The rect's box starts at -1 (half its stroke width), the ellipse's ends at 241 x 121.
    assert view_box(render(state, "svg", ExportOptions(padding=0))) == [-1, -1, 242, 122]
    assert view_box(render(state, "svg", ExportOptions(padding=100))) == [-101, -101, 442, 322]


def test_ids_export_only_the_selection_and_frame_it() -> None:
    svg = render(board(), "svg", ExportOptions(ids=("b", "missing"), padding=0))
    root = ET.fromstring(svg)
    assert [g.attrib["data-id"] for g in root.iter(f"{SVG}g")] == ["b"]
    assert view_box(svg) == [199, 99, 42, 22]


def test_no_background_is_transparent_png_and_svg_without_its_rect() -> None:
    state = board()
    svg = ET.fromstring(render(state, "svg", ExportOptions(background=False)))
    assert [child.tag for child in svg] == [f"{SVG}g", f"{SVG}g"]  # no background rect
    with_rect = ET.fromstring(render(state, "svg", ExportOptions()))
    assert with_rect[0].tag == f"{SVG}rect"
    # Where nothing is drawn: transparent (RGBA 0, 0, 0, 0) without, white with the background.
    _w, _h, clear = decode_png(render(state, "png", ExportOptions(background=False, padding=0)))
    _w, _h, opaque = decode_png(render(state, "png", ExportOptions(padding=0)))
    assert clear[60][300:303] == b"\x00\x00\x00" and opaque[60][300:303] == b"\xff\xff\xff"


def test_scale_multiplies_the_png_size() -> None:
    state = board()
    w1, h1, _ = decode_png(render(state, "png", ExportOptions(padding=0)))
    w2, h2, _ = decode_png(render(state, "png", ExportOptions(padding=0, scale=2)))
    assert (w1, h1) == (242, 122) and (w2, h2) == (484, 244)
    w3, h3, _ = decode_png(render(state, "png", ExportOptions(padding=0, scale=0.5)))
    assert (w3, h3) == (121, 61)


def test_dark_maps_every_colour_and_the_background_like_the_dark_canvas() -> None:
    # invert(93%) hue-rotate(180deg): white becomes #121212, near-black ink becomes light grey.
    assert dark_color("#ffffff") == "#121212"
    assert dark_color("#1e1e1e") == "#d3d3d3"
    assert dark_color("#000000") == "#ededed"
    red = dark_color("#e03131")
    assert int(red[1:3], 16) > int(red[3:5], 16) and int(red[1:3], 16) > int(red[5:7], 16)
    element = el("a", "rect", w=1, h=1, style={**STYLE, "fill": "#ffffff"})
    assert dark_element(element)["style"] == {**STYLE, "color": "#d3d3d3", "fill": "#121212"}
    assert element["style"]["fill"] == "#ffffff"  # the stored element is untouched
    svg = render(board(), "svg", ExportOptions(dark=True)).decode()
    assert 'fill="#121212"' in svg and 'stroke="#d3d3d3"' in svg and "#1e1e1e" not in svg
    assert "#1e1e1e" in render(board(), "svg", ExportOptions()).decode()


def test_dark_maps_the_colours_no_style_holds_a_frames_name_and_a_notes_fill() -> None:
    state = BoardState(
        elements={
            "f": el("f", "frame", x=0, y=20, w=100, h=80, name="Plan"),
            "n": el("n", "note", x=10, y=30, w=40, h=40),
        }
    )

    def fills(svg: bytes) -> dict[str, set[str]]:
        root = ET.fromstring(svg)
        out: dict[str, set[str]] = {}
        for g in root.iter(f"{SVG}g"):
            kind = g.attrib.get("data-type")
            if kind:
                out[kind] = {n.attrib["fill"] for n in g.iter() if "fill" in n.attrib}
        return out

    light = fills(render(state, "svg", ExportOptions()))
    dark = fills(render(state, "svg", ExportOptions(dark=True)))
    assert "#495057" in light["frame"] and dark_color("#495057") in dark["frame"]
    assert "#ffec99" in light["note"] and dark_color("#ffec99") in dark["note"]
    assert dark_color("#000000") in dark["note"]  # the note's shadow
    assert not {"#495057", "#ffec99", "#000000"} & (dark["frame"] | dark["note"])


def test_a_frame_selects_and_clips_to_its_region() -> None:
    frame = el("f", "frame", x=-10, y=-10, w=60, h=50, name="F")
    state = BoardState(
        elements={
            "f": frame,
            "a": el("a", "rect", x=0, y=0, w=40, h=30),
            "edge": el("edge", "rect", x=45, y=0, w=100, h=10),
            "far": el("far", "rect", x=500, y=500, w=10, h=10),
        }
    )
    selected, clip = select(state, ExportOptions(frame="f"))
    assert list(selected.elements) == ["f", "a", "edge"] and clip == (-10, -10, 60, 50)
    assert export_box(selected, 8, clip) == (-18, -18, 76, 66)
    # (Drawn without the frame itself, whose look is the frame's renderer's business.)
    shapes = BoardState(elements={k: v for k, v in selected.elements.items() if k != "f"})
    svg = render_svg(shapes, box=export_box(selected, 0, clip), clip=clip)
    assert '<clipPath id="frame"><rect x="-10" y="-10" width="60" height="50"/>' in svg
    with pytest.raises(ExportOptionError) as info:
        select(state, ExportOptions(frame="a"))
    assert info.value.field == "frame"
    with pytest.raises(ExportOptionError):
        select(state, ExportOptions(frame="nope"))
