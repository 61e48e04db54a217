"""
Issue 16's shapes and styles look the same on the canvas and in the PNG export: diamond, note
(with its shadow), a frame's outline, dashed and dotted outlines, hatch and cross-hatch fills and
a dashed freehand stroke, compared pixel by pixel as test_export_parity.py does for the rest
(the export dialog's preview is the canvas's drawElement over the export's box).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client
from tests.frontend.test_export_parity import MAX_DIFF_SHARE, PIXELS_JS, region_diff, rows_of
from tests.support.png import decode_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}

#: Element id -> (element without id, its region's box); apart, so each region is its own ink.
ELEMENTS: dict[str, dict[str, Any]] = {
    "diamond": {"type": "diamond", "x": 20, "y": 20, "w": 120, "h": 80},
    "note": {"type": "note", "x": 180, "y": 20, "w": 100, "h": 80, "fill": "#ffec99"},
    # As the frame tool makes it (palette.ts); no name: glyphs differ between the rasterisers.
    "frame": {
        "type": "frame",
        "x": 320,
        "y": 20,
        "w": 120,
        "h": 80,
        "name": "",
        "width": 2,
        "color": "#868e96",
    },
    "dashed": {"type": "rect", "x": 20, "y": 140, "w": 120, "h": 80, "dash": "dash"},
    "hatch": {
        "type": "rect",
        "x": 180,
        "y": 140,
        "w": 100,
        "h": 80,
        "fill": "#1971c2",
        "fs": "hatch",
    },
    "cross": {
        "type": "ellipse",
        "x": 320,
        "y": 140,
        "w": 120,
        "h": 80,
        "fill": "#e03131",
        "fs": "cross",
        "dash": "dot",
    },
    "dotted-line": {"type": "line", "x": 20, "y": 270, "w": 120, "h": 30, "dash": "dot"},
    "dashed-stroke": {
        "type": "stroke",
        "x": 190,
        "y": 270,
        "p": [0, 0, 20, 8, 20, -4, 20, 10, 20, -6, 20, 4],
        "dash": "dash",
    },
}
STYLE_KEYS = ("width", "fill", "color", "opacity", "dash", "fs")


def wire(el_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = dict(spec)
    style = {**STYLE, **{k: spec.pop(k) for k in STYLE_KEYS if k in spec}}
    return {"id": el_id, **spec, "style": style}


async def test_the_canvas_and_the_png_export_draw_the_new_shapes_and_styles_alike(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    ops = [{"k": "add", "el": wire(k, v)} for k, v in ELEMENTS.items()]
    await alice.page.evaluate("ops => inkroom.editor.submit(ops)", ops)
    await alice.wait(
        "([id, n]) => fetch(`/api/v1/boards/${id}/state/`)"
        ".then(r => r.json()).then(s => s.elements.length === n)",
        [alice.board_id, len(ELEMENTS)],
    )
    await alice.page.click("#btn-export")
    await alice.wait("!!document.getElementById('export-canvas')")
    width, height, raw = await alice.page.evaluate(PIXELS_JS, "export-canvas")
    canvas_rows = rows_of(width, height, base64.b64decode(raw))
    await alice.page.locator("#dlg-export").screenshot(
        path=str(artifacts / "shapes-export-dialog.png")
    )
    png = await alice.page.evaluate(
        """url => fetch(url).then(r => r.arrayBuffer()).then(b => {
             let s = '';
             for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
             return btoa(s);
           })""",
        f"/api/v1/boards/{alice.board_id}/export/png/",
    )
    body = base64.b64decode(png)
    (artifacts / "shapes-export-parity-server.png").write_bytes(body)
    pw, ph, png_rows = decode_png(body)
    assert (pw, ph) == (width, height), "the preview's box is the export's box"
    svg = await alice.page.evaluate(
        "url => fetch(url).then(r => r.text())", f"/api/v1/boards/{alice.board_id}/export/svg/"
    )
    ox, oy = (float(v) for v in svg.split('viewBox="')[1].split()[:2])
    shares: dict[str, float] = {}
    for el_id, spec in ELEMENTS.items():
        x, y = spec["x"], spec["y"]
        w, h = spec.get("w", 110), spec.get("h", 20)
        box = (int(x - 12 - ox), int(y - 12 - oy), int(x + w + 12 - ox), int(y + h + 12 - oy))
        shares[el_id] = region_diff(canvas_rows, png_rows, box)
    over = {k: round(v, 3) for k, v in shares.items() if v > MAX_DIFF_SHARE}
    assert not over, f"canvas and PNG export differ: {over} (all: {shares})"
    print("pixel difference share per element:", {k: round(v, 4) for k, v in shares.items()})
