"""
Issue 16, exports: what the canvas draws and what the PNG export draws agree, element by element
(arrows and their heads, lines, rects, ellipses, strokes), and the export dialog downloads with
its options.

The browser side is the export dialog's preview: the canvas's own drawElement over exactly the
export's box (export-dialog.ts previewBox mirrors board/export/options.export_box), so at scale 1
the two images are the same size and comparable pixel by pixel.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client
from tests.support.png import decode_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}

#: Element id -> element, placed apart so that each one's region holds only its own ink.
ELEMENTS: dict[str, dict[str, Any]] = {
    "arrow-east": {"type": "arrow", "x": 20, "y": 30, "w": 120, "h": 0},
    "arrow-diag": {"type": "arrow", "x": 180, "y": 100, "w": 90, "h": -70, "width": 2},
    "arrow-thick": {"type": "arrow", "x": 300, "y": 20, "w": 0, "h": 100, "width": 8},
    "line": {"type": "line", "x": 20, "y": 170, "w": 110, "h": 40},
    "rect": {"type": "rect", "x": 170, "y": 150, "w": 90, "h": 60, "fill": "#a5d8ff"},
    "ellipse": {"type": "ellipse", "x": 290, "y": 150, "w": 70, "h": 50, "color": "#e03131"},
    "stroke": {
        "type": "stroke",
        "x": 30,
        "y": 260,
        "p": [0, 0, 20, 8, 20, -4, 20, 10, 20, -6, 20, 4],
    },
    "pen": {
        "type": "stroke",
        "x": 190,
        "y": 250,
        "p": [0, 0, 10, 20, 15, 5, 20, -15, 10, 25],
        "pr": [20, 60, 90, 40, 70],
    },
    "marker": {
        "type": "stroke",
        "x": 300,
        "y": 250,
        "p": [0, 0, 15, 10, 15, -5, 15, 15],
        "width": 16,
        "opacity": 0.4,
        "color": "#f08c00",
    },
}

#: A pixel differs when a channel differs by more than this (anti-aliasing differs a little).
CHANNEL_SLACK = 64
#: Within an element's region, at most this share of the pixels inked in either picture may
#: differ (anti-aliasing of the two rasterisers aside, they agree exactly). The filled-triangle
#: arrowhead exports had, and the centre-line strokes, differed by a third to a half.
MAX_DIFF_SHARE = 0.05


def wire(el_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = dict(spec)
    style = {**STYLE}
    for key in ("width", "fill", "color", "opacity"):
        if key in spec:
            style[key] = spec.pop(key)
    return {"id": el_id, **spec, "style": style}


PIXELS_JS = """id => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let k = 0; k < d.length; k += 4) s += String.fromCharCode(d[k], d[k + 1], d[k + 2]);
  return [c.width, c.height, btoa(s)];
}"""


def rows_of(width: int, height: int, raw: bytes) -> list[bytes]:
    return [raw[r * width * 3 : (r + 1) * width * 3] for r in range(height)]


def region_diff(a: list[bytes], b: list[bytes], box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    inked = differ = 0
    for y in range(max(0, y0), min(len(a), y1)):
        for x in range(max(0, x0), min(len(a[0]) // 3, x1)):
            pa, pb = a[y][3 * x : 3 * x + 3], b[y][3 * x : 3 * x + 3]
            if pa == pb == b"\xff\xff\xff":
                continue
            inked += 1
            if max(abs(p - q) for p, q in zip(pa, pb, strict=True)) > CHANNEL_SLACK:
                differ += 1
    return differ / max(1, inked)


async def test_the_canvas_and_the_png_export_draw_every_element_alike(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    ops = [{"k": "add", "el": wire(k, v)} for k, v in ELEMENTS.items()]
    await alice.page.evaluate("ops => inkroom.editor.submit(ops)", ops)
    server = await alice.server_state()
    for _ in range(50):
        if len(server["elements"]) == len(ELEMENTS):
            break
        await alice.page.wait_for_timeout(100)
        server = await alice.server_state()
    assert [el["id"] for el in server["elements"]] == list(ELEMENTS)

    await alice.page.click("#btn-export")
    await alice.wait("!!document.getElementById('export-canvas')")
    width, height, raw = await alice.page.evaluate(PIXELS_JS, "export-canvas")
    canvas_rows = rows_of(width, height, base64.b64decode(raw))
    await alice.page.locator("#dlg-export").screenshot(path=str(artifacts / "export-dialog.png"))

    png = await alice.page.evaluate(
        """url => fetch(url).then(r => r.arrayBuffer()).then(b => {
             let s = '';
             for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
             return btoa(s);
           })""",
        f"/api/v1/boards/{alice.board_id}/export/png/",
    )
    body = base64.b64decode(png)
    (artifacts / "export-parity-server.png").write_bytes(body)
    pw, ph, png_rows = decode_png(body)
    assert (pw, ph) == (width, height), "the preview's box is the export's box"

    # The box's origin: the export's viewBox (its SVG), so world boxes map to pixels.
    svg = await alice.page.evaluate(
        "url => fetch(url).then(r => r.text())", f"/api/v1/boards/{alice.board_id}/export/svg/"
    )
    ox, oy = (float(v) for v in svg.split('viewBox="')[1].split()[:2])
    shares: dict[str, float] = {}
    for el_id in ELEMENTS:
        b = await alice.page.evaluate(
            """id => { const el = inkroom.view().elements.find(e => e.id === id);
                       const w = el.style.width * 4 + 4;
                       const xs = [el.x, el.x + (el.w ?? 0)], ys = [el.y, el.y + (el.h ?? 0)];
                       if (el.p) { let x = el.x, y = el.y;
                         for (let k = 0; k < el.p.length; k += 2) { x += el.p[k]; y += el.p[k + 1];
                           xs.push(x); ys.push(y); } }
                       return [Math.min(...xs) - w, Math.min(...ys) - w,
                               Math.max(...xs) + w, Math.max(...ys) + w]; }""",
            el_id,
        )
        box = (int(b[0] - ox), int(b[1] - oy), int(b[2] - ox) + 1, int(b[3] - oy) + 1)
        shares[el_id] = region_diff(canvas_rows, png_rows, box)
    over = {k: round(v, 3) for k, v in shares.items() if v > MAX_DIFF_SHARE}
    assert not over, f"canvas and PNG export differ: {over} (all: {shares})"
    print("pixel difference share per element:", {k: round(v, 4) for k, v in shares.items()})
