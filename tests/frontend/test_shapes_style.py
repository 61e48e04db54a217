"""
Issue 16's shapes and style panel, driven as a user does it in headless Chromium (tool keys,
mouse, the native colour picker, buttons and the opacity slider) and checked against the
server's `/state/`; screenshots to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client
from tests.support.png import decode_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def server_elements(client: Client, count: int) -> list[dict[str, Any]]:
    """The server's elements once there are `count` of them."""
    await client.wait(
        "([id, n]) => fetch(`/api/v1/boards/${id}/state/`)"
        ".then(r => r.json()).then(s => s.elements.length === n)",
        [client.board_id, count],
    )
    elements: list[dict[str, Any]] = (await client.server_state())["elements"]
    return elements


async def server_style(client: Client, el_id: str, key: str, value: Any) -> dict[str, Any]:
    """The element's style once the server has `key` = `value` in it."""
    await client.wait(
        "([board, id, key, value]) => fetch(`/api/v1/boards/${board}/state/`).then(r => r.json())"
        ".then(s => JSON.stringify(s.elements.find(e => e.id === id)?.style[key] ?? null)"
        " === JSON.stringify(value))",
        [client.board_id, el_id, key, value],
    )
    [el] = [e for e in (await client.server_state())["elements"] if e["id"] == el_id]
    style: dict[str, Any] = el["style"]
    return style


def box(el: dict[str, Any]) -> tuple[Any, ...]:
    return (el["type"], el["x"], el["y"], el["w"], el["h"])


async def canvas_rows(client: Client) -> tuple[int, list[bytes]]:
    """The canvas as PNG rows (RGB or RGBA) and its bytes per pixel."""
    png = await client.page.locator("#board-canvas").screenshot()
    width, _height, rows = decode_png(png)
    return len(rows[0]) // width, rows


async def test_diamond_note_and_frame_with_their_keys_and_renaming_a_frame(
    open_board: Any, artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await page.keyboard.press("d")
    await alice.drag([(420, 100), (500, 150), (580, 200)])
    [diamond] = await server_elements(alice, 1)
    assert box(diamond) == ("diamond", 420, 100, 160, 100)

    # A click with the note tool places a 200 x 200 yellow note centred on it.
    await page.keyboard.press("n")
    await alice.drag([(800, 250), (800, 250)])
    note = (await server_elements(alice, 2))[1]
    assert box(note) == ("note", 700, 150, 200, 200)
    assert note["style"]["fill"] == "#ffec99"
    # Its label is open for typing at once; Escape commits it.
    await page.locator("#text-input").wait_for(state="visible")
    await page.keyboard.type("Ship it")
    await page.keyboard.press("Escape")
    await alice.wait(
        "id => fetch(`/api/v1/boards/${id}/state/`).then(r => r.json())"
        ".then(s => s.elements.some(e => e.type === 'note' && e.text === 'Ship it'))",
        alice.board_id,
    )

    # A frame is dragged out, named "Frame", and drawn beneath what was there before it.
    await page.keyboard.press("f")
    await alice.drag([(380, 60), (600, 200), (960, 420)])
    frame = (await server_elements(alice, 3))[2]
    assert box(frame) == ("frame", 380, 60, 580, 360)
    assert frame["name"] == "Frame"
    await page.keyboard.press("v")
    await alice.wait("() => inkroom.renderPending() === false")
    bpp, rows = await canvas_rows(alice)
    # The note is still its yellow: the frame (on top in z-order) is beneath it.
    ox, oy = 720, 170
    r, g, b = rows[oy][ox * bpp : ox * bpp + 3]
    assert (r, g, b) == (0xFF, 0xEC, 0x99)
    await page.screenshot(path=str(artifacts / "shapes-diamond-note-frame.png"))

    # Double-click the frame's name: an input; Enter renames it (one undo step).
    ox, oy = await alice.canvas_origin()
    await page.mouse.dblclick(ox + 392, oy + 60 - 10)
    await page.locator("#frame-name").fill("Sprint plan")
    await page.keyboard.press("Enter")
    await alice.wait(
        "id => fetch(`/api/v1/boards/${id}/state/`).then(r => r.json())"
        ".then(s => s.elements.some(e => e.name === 'Sprint plan'))",
        alice.board_id,
    )
    await page.keyboard.press("Control+z")
    await alice.wait(
        "id => fetch(`/api/v1/boards/${id}/state/`).then(r => r.json())"
        ".then(s => s.elements.some(e => e.name === 'Frame'))",
        alice.board_id,
    )
    # The frame's actions in the selection sheet: rename and export (right click on its border).
    await page.mouse.click(ox + 380, oy + 240, button="right")
    await page.locator("#sel-frame-export").wait_for(state="visible")
    async with page.expect_download() as download:
        await page.click("#sel-frame-export")
    assert (await download.value).suggested_filename == "Frame.png"


async def test_a_custom_colour_dash_fill_pattern_and_opacity_restyle_the_selection(
    open_board: Any, artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await alice.tool("rect")
    await alice.drag([(450, 150), (550, 220), (650, 300)])
    [rect] = await server_elements(alice, 1)
    await alice.tool("select")
    await alice.drag([(450, 200), (450, 200)])
    assert await page.evaluate("[...inkroom.editor.selection]") == [rect["id"]]

    # Any colour: the native picker, applied to the selection (one undo step) and kept as recent.
    await page.click("#btn-style-panel")
    await page.locator("#style-panel").wait_for(state="visible")
    await page.locator("#sp-color").fill("#12ab34")
    style = await server_style(alice, rect["id"], "color", "#12ab34")
    assert style["color"] == "#12ab34"
    assert await page.locator("#style-panel [aria-label='Recent colour #12ab34']").count() == 1
    await page.keyboard.press("Control+z")
    await server_style(alice, rect["id"], "color", "#1e1e1e")
    await page.keyboard.press("Control+Shift+z")
    await server_style(alice, rect["id"], "color", "#12ab34")

    # Fill, hatch and dash from the panel.
    await page.click("#style-panel [aria-label='Fill light blue']")
    await page.click("#style-panel [aria-label='Fill pattern: Hatch']")
    await page.click("#style-panel [aria-label='Stroke: Dashed']")
    style = await server_style(alice, rect["id"], "dash", "dash")
    assert (style["fill"], style["fs"], style["dash"]) == ("#a5d8ff", "hatch", "dash")

    # The opacity slider: one restyle when it is let go.
    await page.locator("#sp-opacity").fill("40")
    style = await server_style(alice, rect["id"], "opacity", 0.4)

    # A second dash choice, undone: back to the first.
    await page.click("#style-panel [aria-label='Stroke: Dotted']")
    await server_style(alice, rect["id"], "dash", "dot")
    await page.keyboard.press("Control+z")
    await server_style(alice, rect["id"], "dash", "dash")

    # Hatch on the canvas: along a row inside the rect, blue lines with white between them.
    await page.evaluate("inkroom.editor.selection.clear(); inkroom.editor.invalidate()")
    await alice.wait("() => inkroom.renderPending() === false")
    await page.screenshot(path=str(artifacts / "style-dash-hatch-opacity.png"))
    bpp, rows = await canvas_rows(alice)
    row = rows[225]
    pixels = [tuple(row[x * bpp : x * bpp + 3]) for x in range(470, 630)]
    bluish = [p for p in pixels if p[2] - p[0] > 20]
    assert 0 < len(bluish) < len(pixels) / 2

    # The pen keeps the last choices (undo restyles the element, not the pen): a new rect.
    await alice.tool("rect")
    await alice.drag([(700, 150), (800, 250)])
    new = (await server_elements(alice, 2))[1]["style"]
    assert (new["dash"], new["fs"], new["fill"], new["opacity"], new["color"]) == (
        "dot",
        "hatch",
        "#a5d8ff",
        0.4,
        "#12ab34",
    )

    # The export draws the same pattern and dashes.
    svg = await page.evaluate(
        "id => fetch(`/api/v1/boards/${id}/export/svg/`).then(r => r.text())", alice.board_id
    )
    assert 'patternTransform="rotate(45)"' in svg and 'stroke-dasharray="16 12"' in svg
