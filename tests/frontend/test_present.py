"""
Issue 16, presenting: the laser pointer (K) that everyone sees fade and nothing stores (a
viewer's too), dark mode (system, menu, Alt+Shift+D, remembered; exports unaffected), and the
export dialog's options.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from board.export.dark import dark_color
from tests.frontend.browser import Client
from tests.support.png import decode_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Red pixels on the laser layer (its trail is rgb(255, 45, 45) at some opacity).
RED_PIXELS_JS = """() => {
  const c = document.getElementById('board-laser');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let k = 0; k < d.length; k += 4) if (d[k + 3] > 20 && d[k] > 200 && d[k + 1] < 120) n++;
  return n;
}"""

TRAIL_JS = "inkroom.editor.presence.laser.visible(Date.now()).length"


async def test_the_laser_trail_is_seen_by_everyone_fades_and_is_never_stored(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    await bob.wait("document.querySelectorAll('#presence li').length === 2")
    await alice.page.focus("#board-canvas")
    await alice.page.keyboard.press("k")
    assert await alice.page.get_attribute("[data-tool=laser]", "aria-pressed") == "true"
    ox, oy = await alice.canvas_origin()
    mouse = alice.page.mouse
    await mouse.move(ox + 200, oy + 200)
    await mouse.down()
    # Both see the trail while the pointer moves: alice her own, bob hers through the server.
    # (Checked as it goes: a trail fades within a second of its last point, and a loaded box can
    # take that long between two steps.)
    seen = {"alice": [0, 0], "bob": [0, 0]}  # most trail segments, most red pixels
    for k in range(1, 60):
        await mouse.move(ox + 200 + 8 * k, oy + 200 + 6 * (k % 3), steps=2)
        for who, client in (("alice", alice), ("bob", bob)):
            now = await client.page.evaluate(f"[{TRAIL_JS}, ({RED_PIXELS_JS})()]")
            seen[who] = [max(a, b) for a, b in zip(seen[who], now, strict=True)]
        if all(trail > 1 and red > 30 for trail, red in seen.values()):
            break
    assert all(trail > 1 and red > 30 for trail, red in seen.values()), seen
    await bob.page.screenshot(path=str(artifacts / "laser-bob.png"))
    await mouse.up()
    # ~1 s after the last point everything has faded, for both.
    await alice.wait(f"{TRAIL_JS} === 0 && ({RED_PIXELS_JS})() === 0", timeout=5000)
    await bob.wait(f"{TRAIL_JS} === 0 && ({RED_PIXELS_JS})() === 0", timeout=5000)
    # Pointing is presence, not content: nothing reached the board.
    assert (await alice.server_state())["elements"] == []
    assert await alice.outbox() == []


async def test_a_viewer_points_the_laser_for_everyone(open_board: Callable[..., Any]) -> None:
    alice: Client = await open_board("alice")
    carol: Client = await open_board("carol")  # a viewer: no drawing tool, but the laser
    assert await carol.page.evaluate("inkroom.role()") == "viewer"
    assert await carol.page.is_disabled("[data-tool=pen]")
    await carol.page.focus("#board-canvas")
    await carol.page.keyboard.press("k")
    assert await carol.page.get_attribute("[data-tool=laser]", "aria-pressed") == "true"
    ox, oy = await carol.canvas_origin()
    mouse = carol.page.mouse
    await mouse.move(ox + 200, oy + 200)
    await mouse.down()
    most = 0
    for k in range(1, 40):
        await mouse.move(ox + 200 + 8 * k, oy + 200, steps=2)
        most = max(most, await alice.page.evaluate(TRAIL_JS))
        if most > 1:
            break
    await mouse.up()
    assert most > 1, "alice never saw carol's laser"
    assert (await alice.server_state())["elements"] == []


async def test_dark_mode_follows_the_system_switches_and_leaves_exports_alone(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    theme = "document.documentElement.dataset.theme"
    filter_js = "getComputedStyle(document.getElementById('board-canvas')).filter"
    await page.evaluate(
        """() => inkroom.editor.submit([{k: 'add', el: {id: 'r1', type: 'rect', x: 100,
             y: 100, w: 120, h: 80, style: {color: '#1e1e1e', width: 4, opacity: 1,
             fill: '#a5d8ff'}}}])"""
    )
    assert await page.evaluate(theme) == "light"
    await page.emulate_media(color_scheme="dark")
    await alice.wait(f"{theme} === 'dark'")
    assert "invert" in await page.evaluate(filter_js)
    await page.screenshot(path=str(artifacts / "dark-mode.png"))
    # What the screen shows is the export's dark rule (board/export/dark.py), colour for colour:
    # the background between grid dots, and the rectangle's fill.
    for (wx, wy), colour in (((48, 48), "#ffffff"), ((160, 140), "#a5d8ff")):
        sx, sy = await page.evaluate(f"inkroom.toScreen({wx}, {wy})")
        ox, oy = await alice.canvas_origin()
        shot = await page.screenshot(clip={"x": ox + sx, "y": oy + sy, "width": 1, "height": 1})
        pixel = decode_png(shot)[2][0][:3]
        want = bytes.fromhex(dark_color(colour)[1:])
        assert all(abs(a - b) <= 3 for a, b in zip(pixel, want, strict=True)), (colour, pixel, want)
    # The stored colours are what was drawn.
    await alice.wait("inkroom.state().elements.length === 1")
    assert (await alice.server_state())["elements"][0]["style"]["color"] == "#1e1e1e"

    # Alt+Shift+D switches, and the choice outlives a reload whatever the system says.
    await page.focus("#board-canvas")
    await page.keyboard.press("Alt+Shift+KeyD")
    await alice.wait(f"{theme} === 'light'")
    assert await page.evaluate(filter_js) == "none"
    assert await page.evaluate("localStorage.getItem('inkroom.theme')") == "light"
    await page.reload()
    await alice.wait_synced()
    assert await page.evaluate(theme) == "light"
    # The menu item switches back, and says which it is.
    await page.evaluate("document.getElementById('btn-theme').click()")
    await alice.wait(f"{theme} === 'dark'")
    assert await page.get_attribute("#btn-theme", "aria-pressed") == "true"

    # Exports stay light unless asked for dark.
    base = f"/api/v1/boards/{alice.board_id}/export/svg/"
    svg = await page.evaluate("url => fetch(url).then(r => r.text())", base)
    assert 'fill="#ffffff"' in svg and "#1e1e1e" in svg
    dark = await page.evaluate("url => fetch(url).then(r => r.text())", base + "?dark=1")
    assert 'fill="#121212"' in dark and "#1e1e1e" not in dark


async def test_the_export_dialog_downloads_with_its_options(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await page.evaluate(
        """() => inkroom.editor.submit([
             {k: 'add', el: {id: 'r1', type: 'rect', x: 100, y: 100, w: 40, h: 30,
               style: {color: '#1e1e1e', width: 2, opacity: 1, fill: null}}},
             {k: 'add', el: {id: 'r2', type: 'rect', x: 600, y: 400, w: 40, h: 30,
               style: {color: '#e03131', width: 2, opacity: 1, fill: null}}}])"""
    )
    await alice.wait("inkroom.state().elements.length === 2")
    # Select r1 by clicking its edge with the select tool.
    await page.focus("#board-canvas")
    await page.keyboard.press("v")
    at = await page.evaluate("inkroom.toScreen(100, 115)")
    ox, oy = await alice.canvas_origin()
    await page.mouse.click(ox + at[0], oy + at[1])
    await alice.wait("inkroom.editor.selection.has('r1')")

    await page.click("#btn-export")
    await alice.wait("!!document.getElementById('export-canvas')")
    assert await page.is_checked("#export-selection")
    await page.fill("#export-padding", "0")
    await page.select_option("#export-scale", "2")
    await page.uncheck("#export-background")
    # The preview follows: the selection's box (41 x 31 units at padding 0) on a transparent page.
    await alice.wait("document.getElementById('export-canvas').width === 42")
    await page.locator("#dlg-export").screenshot(path=str(artifacts / "export-dialog-options.png"))
    async with page.expect_download() as info:
        await page.click("#export-download")
    png = Path(await (await info.value).path()).read_bytes()
    width, height, rows = decode_png(png)
    assert (width, height) == (84, 64)  # (40 + 2) x (30 + 2) units at 2 px per unit
    assert rows[32][60:63] == b"\x00\x00\x00"  # transparent inside the outline
    await alice.wait("!document.getElementById('dlg-export')")  # closed once the file is saved
