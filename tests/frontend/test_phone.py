"""
Issue 17's phones and tablets in a real browser: a touch phone (390x844, 3 device pixels per
CSS pixel) draws, pinches, long-presses, styles, shares and exports, checked against the
server's state; the layout fits both orientations and tablets without sideways scrolling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import CDPSession, Page, ViewportSize

from tests.frontend.browser import PHONE, Client, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_LANDSCAPE: ViewportSize = {"width": 844, "height": 390}
TABLET: ViewportSize = {"width": 768, "height": 1024}
TABLET_LANDSCAPE: ViewportSize = {"width": 1024, "height": 768}
WIDE_TABLET_LANDSCAPE: ViewportSize = {"width": 1180, "height": 820}
#: The least share of the window's height the canvas keeps (the issue's 75 %).
MIN_CANVAS_SHARE = 0.75
#: The least size (CSS px) of a control a finger presses.
TOUCH_TARGET_PX = 44
#: Longer than the client's LONG_PRESS_MS (gestures.ts).
LONG_PRESS_S = 0.8
#: Longer than Chromium's window for a finger's lift velocity (see Fingers.lift).
FLING_PAUSE_S = 0.15

# Every control of the page chrome that is shown now: its id or label, and its box.
VISIBLE_CONTROLS_JS = """() => [...document.querySelectorAll(
    '.topbar button, .topbar a, #toolbar button, [popover]:popover-open button')]
  .filter(b => b.checkVisibility() && !b.closest('#presence'))
  .map(b => { const r = b.getBoundingClientRect();
              return {name: b.id || b.getAttribute('aria-label') || b.textContent.trim(),
                      left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                      width: r.width, height: r.height}; })"""

# A popover is open and placed (ui/sheets.ts shows the shape and style popovers once placed).
OPENED_JS = """(() => { const p = document.querySelector('[popover]:popover-open');
  return !!p && (p.id === 'board-menu' || p.hasAttribute('data-placed')); })()"""

FITS_JS = """() => ({
  scrollWidth: document.scrollingElement.scrollWidth, innerWidth,
  canvas: document.getElementById('board-canvas').getBoundingClientRect().height, innerHeight,
})"""


class Fingers:
    """
    Touches on the board page through the DevTools protocol (several fingers at once).
    """

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page, self.cdp = page, cdp

    async def touch(self, kind: str, points: list[tuple[float, float]]) -> None:
        await self.cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)],
            },
        )

    async def lift(self, points: list[tuple[float, float]]) -> None:
        """
        Hold still a moment, then lift: fingers lifted while moving fast start a fling, and
        Chromium swallows the next tap (the one that would stop a fling) as no click.
        """
        await asyncio.sleep(FLING_PAUSE_S)
        await self.touch("touchMove", points)
        await self.touch("touchEnd", [])

    async def drag(self, points: list[tuple[float, float]]) -> None:
        await self.touch("touchStart", points[:1])
        for point in points[1:]:
            await self.touch("touchMove", [point])
        await self.lift(points[-1:])

    async def long_press(self, x: float, y: float) -> None:
        await self.touch("touchStart", [(x, y)])
        await asyncio.sleep(LONG_PRESS_S)
        await self.touch("touchEnd", [])

    async def pen(self, points: list[tuple[float, float]]) -> None:
        """A stylus stroke (pointerType "pen", with pressure)."""
        for n, (x, y) in enumerate(points):
            kind = "mousePressed" if n == 0 else "mouseMoved"
            await self.cdp.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": x,
                    "y": y,
                    "button": "left",
                    "buttons": 1,
                    "clickCount": 1,
                    "pointerType": "pen",
                    "force": 0.6,
                },
            )
        x, y = points[-1]
        await self.cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": "mouseReleased",
                "x": x,
                "y": y,
                "button": "left",
                "clickCount": 1,
                "pointerType": "pen",
            },
        )


async def phone_client(open_board: Callable[..., Any], user: str) -> tuple[Client, Fingers]:
    client: Client = await open_board(user, viewport=PHONE, touch=True, mobile=True)
    return client, Fingers(client.page, await client.context.new_cdp_session(client.page))


async def canvas_point(client: Client, wx: float, wy: float) -> tuple[float, float]:
    """The page position of world point (wx, wy)."""
    ox, oy = await client.canvas_origin()
    sx, sy = await client.page.evaluate("([x, y]) => inkroom.toScreen(x, y)", [wx, wy])
    return ox + sx, oy + sy


async def server_elements(client: Client) -> list[dict[str, Any]]:
    return (await client.server_state())["elements"]


async def wait_server(
    client: Client, predicate: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    for _ in range(200):
        elements = await server_elements(client)
        if predicate(elements):
            return elements
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server's state never matched: {elements}")


async def assert_fits(page: Page, label: str, artifacts: Path) -> None:
    """
    No sideways scrolling, the canvas keeps its share of the height, and every control is on
    screen and big enough for a finger; every tool and menu entry is one tap away.
    """
    fits = await page.evaluate(FITS_JS)
    assert fits["scrollWidth"] <= fits["innerWidth"], f"{label}: scrolls sideways: {fits}"
    assert fits["canvas"] >= MIN_CANVAS_SHARE * fits["innerHeight"], f"{label}: canvas {fits}"
    await page.screenshot(path=str(artifacts / f"phone-{label}.png"))

    async def check_controls(what: str) -> set[str]:
        controls = await page.evaluate(VISIBLE_CONTROLS_JS)
        width, height = fits["innerWidth"], fits["innerHeight"]
        for c in controls:
            assert c["left"] >= 0 and c["right"] <= width + 0.5, f"{label} {what}: off screen {c}"
            assert c["top"] >= 0 and c["bottom"] <= height + 0.5, f"{label} {what}: off screen {c}"
            assert min(c["width"], c["height"]) >= TOUCH_TARGET_PX - 0.5, (
                f"{label} {what}: small {c}"
            )
        return {c["name"] for c in controls}

    shown = await check_controls("toolbar")
    for tool in ("Select (V)", "Pan (H)", "Pen (P)", "Highlighter (M)", "Eraser (E)", "Text (T)"):
        assert tool in shown, f"{label}: {tool} not in the toolbar: {sorted(shown)}"
    for opener, wanted in (
        ("#btn-shapes", {"Rectangle (R)", "Ellipse (O)", "Line (L)", "Arrow (A)"}),
        ("#btn-style", {"Colour red", "Width thick", "btn-fill"}),
        (
            "#btn-menu",
            {
                "btn-share",
                "btn-snapshots",
                "btn-history",
                "btn-export-png",
                "btn-export-svg",
                "Text size and alignment",
                "Insert image",
                "Laser pointer",
            },
        ),
    ):
        await page.tap(opener)
        await wait_for(page, OPENED_JS)
        inside = await check_controls(opener)
        assert wanted <= inside, f"{label}: {opener} lacks {wanted - inside}"
        await page.screenshot(path=str(artifacts / f"phone-{label}-{opener[5:]}.png"))
        await page.keyboard.press("Escape")
        assert not await page.evaluate("!!document.querySelector('[popover]:popover-open')")


async def test_phone_layout_fits_both_orientations_and_tablets(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice, _ = await phone_client(open_board, "alice")
    page = alice.page
    # The board page does its own zooming: no page zoom to fight the pinch.
    viewport = await page.get_attribute("meta[name=viewport]", "content")
    assert viewport is not None and "user-scalable=no" in viewport
    # ... nor a pull-to-refresh from a swipe down the toolbar.
    overscroll = "getComputedStyle(document.documentElement).overscrollBehaviorY"
    assert await page.evaluate(overscroll) == "none"
    await assert_fits(page, "portrait", artifacts)
    await page.set_viewport_size(PHONE_LANDSCAPE)
    await alice.wait("innerWidth === 844")
    await assert_fits(page, "landscape", artifacts)

    # A viewer's top row: the read-only badge, and still room for the board's title.
    carol, _ = await phone_client(open_board, "carol")
    await carol.wait("inkroom.role() === 'viewer'")
    await carol.page.screenshot(path=str(artifacts / "phone-viewer.png"))
    title = await carol.page.locator("#board-title").bounding_box()
    assert title is not None and title["width"] >= 40, title
    assert await carol.page.is_visible("#readonly-badge")
    fits = await carol.page.evaluate(FITS_JS)
    assert fits["scrollWidth"] <= fits["innerWidth"], fits

    for label, size in (
        ("tablet", TABLET),
        ("tablet-landscape", TABLET_LANDSCAPE),
        ("wide-tablet-landscape", WIDE_TABLET_LANDSCAPE),
    ):
        await page.set_viewport_size(size)
        await alice.wait(f"innerWidth === {size['width']}")
        await page.screenshot(path=str(artifacts / f"phone-{label}.png"))
        fits = await page.evaluate(FITS_JS)
        assert fits["scrollWidth"] <= fits["innerWidth"], f"{label}: {fits}"
        assert fits["canvas"] >= MIN_CANVAS_SHARE * fits["innerHeight"], f"{label}: {fits}"
        # The tools, styles, edits and view in one row, not wrapped onto a second.
        toolbar = await page.locator("#toolbar").bounding_box()
        assert toolbar is not None and toolbar["height"] < 2 * TOUCH_TARGET_PX, (
            f"{label}: {toolbar}"
        )
        for c in await page.evaluate(VISIBLE_CONTROLS_JS):
            assert c["right"] <= size["width"] and c["height"] >= TOUCH_TARGET_PX - 0.5, (
                f"{label}: {c}"
            )
            assert c["bottom"] <= size["height"], f"{label}: {c}"
        await page.tap("#btn-style")
        await wait_for(page, OPENED_JS)
        for c in await page.evaluate(VISIBLE_CONTROLS_JS):
            assert c["left"] >= 0 and c["right"] <= size["width"], f"{label} styles: {c}"
        await page.keyboard.press("Escape")


async def test_phone_draws_pinches_selects_styles_shares_and_exports_by_touch(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    bob, _ = await phone_client(open_board, "bob")
    alice, fingers = await phone_client(open_board, "alice")
    page = alice.page

    # One finger draws a stroke; the server has it.
    start = await canvas_point(alice, 60, 200)
    await fingers.drag([(start[0] + 12 * k, start[1] + 3 * (k % 3)) for k in range(14)])
    (stroke,) = await wait_server(alice, lambda els: len(els) == 1)
    assert stroke["type"] == "stroke" and "pr" not in stroke and len(stroke["p"]) >= 10

    # Two fingers: a pinch zooms around their midpoint, then they pan together; nothing drawn.
    mid = await canvas_point(alice, 200, 420)
    world_under_mid = await page.evaluate(
        "([x, y]) => inkroom.editor.camera.toWorld(x, y)",
        [mid[0], mid[1] - (await alice.canvas_origin())[1]],
    )
    await fingers.touch("touchStart", [(mid[0] - 50, mid[1]), (mid[0] + 50, mid[1])])
    for k in range(1, 6):
        await fingers.touch(
            "touchMove", [(mid[0] - 50 - 10 * k, mid[1]), (mid[0] + 50 + 10 * k, mid[1])]
        )
    # 100 px apart to 200: twice the zoom (moves reach the page on animation frames: wait).
    await alice.wait("Math.abs(inkroom.camera().zoom - 2) < 0.01")
    camera = await page.evaluate("inkroom.camera()")
    back = await page.evaluate(
        "([x, y]) => inkroom.editor.camera.toWorld(x, y)",
        [mid[0], mid[1] - (await alice.canvas_origin())[1]],
    )
    assert back == pytest.approx(world_under_mid, abs=1)
    for k in range(1, 5):
        await fingers.touch(
            "touchMove", [(mid[0] - 100, mid[1] - 20 * k), (mid[0] + 100, mid[1] - 20 * k)]
        )
    await fingers.lift([(mid[0] - 100, mid[1] - 80), (mid[0] + 100, mid[1] - 80)])
    await alice.wait(f"Math.abs(inkroom.camera().y - {camera['y'] + 80 / 2}) < 0.5")
    assert (await page.evaluate("inkroom.camera()"))["zoom"] == pytest.approx(2, abs=0.01)
    assert len(await server_elements(alice)) == 1
    await page.tap("#btn-menu")
    await page.tap("#board-menu [data-proxy=btn-fit]")

    # Styles from the toolbar's popover, a rectangle from the shapes popover.
    await page.tap("#btn-style")
    await page.tap("#style-pop [data-color='#1971c2']")
    await page.tap("#btn-style")
    await page.tap("#style-pop [data-width='8']")
    await page.tap("#btn-shapes")
    await page.tap("#shape-pop [data-tool=rect]")
    assert await page.get_attribute("#btn-shapes", "aria-pressed") == "true"
    ox, oy = await alice.canvas_origin()
    await fingers.drag([(ox + 60 + 10 * k, oy + 480 + 6 * k) for k in range(13)])
    elements = await wait_server(alice, lambda els: len(els) == 2)
    rect = elements[1]
    assert (
        rect["type"] == "rect"
        and rect["style"]["color"] == "#1971c2"
        and rect["style"]["width"] == 8
    )

    # A long-press on the stroke selects it and opens its actions; red restyles it everywhere.
    on_stroke = await canvas_point(
        alice, stroke["x"] + stroke["p"][2], stroke["y"] + stroke["p"][3]
    )
    await fingers.long_press(*on_stroke)
    await page.locator("#dlg-selection").wait_for()
    assert await page.inner_text("#sel-count") == "1 selected"
    assert len(await server_elements(alice)) == 2  # the long-press drew nothing
    await page.screenshot(path=str(artifacts / "phone-selection-sheet.png"))
    await page.tap("#dlg-selection [data-color='#e03131']")
    await wait_server(alice, lambda els: els[0]["style"]["color"] == "#e03131")
    await bob.wait("inkroom.state().elements[0]?.style.color === '#e03131'")
    # ... and Delete removes the rectangle, long-pressed the same way.
    await page.tap("#dlg-selection form button")
    on_rect = await canvas_point(alice, rect["x"], rect["y"] + rect["h"] / 2)
    await fingers.long_press(*on_rect)
    await page.locator("#dlg-selection").wait_for()
    await page.tap("#sel-delete")
    await wait_server(alice, lambda els: [e["id"] for e in els] == [stroke["id"]])
    # A two-finger tap undoes the delete; a three-finger tap redoes it.
    taps = [(ox + 100.0 + 60 * n, oy + 300.0) for n in range(3)]
    await fingers.touch("touchStart", taps[:2])
    await fingers.touch("touchEnd", [])
    await wait_server(alice, lambda els: [e["id"] for e in els] == [stroke["id"], rect["id"]])
    await fingers.touch("touchStart", taps)
    await fingers.touch("touchEnd", [])
    await wait_server(alice, lambda els: [e["id"] for e in els] == [stroke["id"]])

    # The select tool: a finger drags the stroke by (+40, +30) screen px, taking hold of it
    # 12 px below its line (a fingertip gets more slack than a mouse pointer).
    await page.tap("[data-tool=select]")
    zoom = (await page.evaluate("inkroom.camera()"))["zoom"]
    on_line = await canvas_point(alice, stroke["x"] + stroke["p"][2], stroke["y"] + stroke["p"][3])
    grab = (on_line[0], on_line[1] + 12)
    await fingers.drag([(grab[0] + 4 * k, grab[1] + 3 * k) for k in range(11)])
    moved = await wait_server(alice, lambda els: els[0]["x"] != stroke["x"])
    assert moved[0]["x"] == pytest.approx(stroke["x"] + 40 / zoom, abs=2)
    assert moved[0]["y"] == pytest.approx(stroke["y"] + 30 / zoom, abs=2)

    # Share from the menu sheet: a viewer link is created and listed, on screen.
    await page.tap("#btn-menu")
    await page.tap("#btn-share")
    await page.locator("#dlg-share[open]").wait_for()
    # No keyboard rising over the sheet: no field has the focus until one is tapped.
    assert await page.evaluate("document.activeElement.id") == "dlg-share"
    await page.select_option("#share-role", "viewer")
    await page.tap("#share-form button[type=submit]")
    await page.locator("#share-links li").wait_for()
    box = await page.locator("#dlg-share").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    await page.screenshot(path=str(artifacts / "phone-share-sheet.png"))
    links = await page.evaluate(
        "id => fetch(`/api/v1/boards/${id}/share-links/`).then(r => r.json())", alice.board_id
    )
    assert [link["role"] for link in links if not link.get("revoked_at")] == ["viewer"]
    # A tap above the sheet closes it.
    assert box["y"] > TOUCH_TARGET_PX
    await fingers.touch("touchStart", [(PHONE["width"] / 2, box["y"] / 2)])
    await fingers.touch("touchEnd", [])
    await alice.wait("!document.getElementById('dlg-share').open")

    # Export from the menu sheet: a real PNG.
    await page.tap("#btn-menu")
    async with page.expect_download() as info:
        await page.tap("#btn-export-png")
    png = Path(await (await info.value).path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 100


async def test_after_a_pen_fingers_pan_and_zoom_but_do_not_draw_unless_set_to(
    open_board: Callable[..., Any],
) -> None:
    alice, fingers = await phone_client(open_board, "alice")
    page = alice.page
    start = await canvas_point(alice, 80, 300)
    await fingers.pen([(start[0] + 10 * k, start[1] + 4 * (k % 2)) for k in range(12)])
    (ink,) = await wait_server(alice, lambda els: len(els) == 1)
    assert "pr" in ink  # a stylus' pressure is kept

    # A palm (or finger) dragging now moves the board and leaves no ink; a tap leaves no dot.
    before = await page.evaluate("inkroom.camera()")
    await fingers.drag([(200, 500 + 10 * k) for k in range(12)])
    await fingers.touch("touchStart", [(150, 600)])
    await fingers.touch("touchEnd", [])
    await alice.wait(f"Math.abs(inkroom.camera().y - {before['y'] - 110}) < 0.5")
    await asyncio.sleep(0.3)
    assert len(await server_elements(alice)) == 1
    assert await alice.outbox() == []

    # Two fingers still pinch.
    await fingers.touch("touchStart", [(150, 400), (250, 400)])
    for k in range(1, 6):
        await fingers.touch("touchMove", [(150 - 10 * k, 400), (250 + 10 * k, 400)])
    await fingers.lift([(100, 400), (300, 400)])
    await alice.wait("Math.abs(inkroom.camera().zoom - 2) < 0.01")
    # The pen still draws.
    await fingers.pen([(100 + 8 * k, 250) for k in range(8)])
    await wait_server(alice, lambda els: len(els) == 2)

    # Palm rejection off in the board menu: a finger draws again, and the choice is kept.
    await page.tap("#btn-menu")
    await page.select_option("#pen-mode", "touch")
    await page.keyboard.press("Escape")
    await alice.wait("!document.querySelector('#board-menu:popover-open')")
    await asyncio.sleep(0.3)  # a press just after a sheet closes is its dismissal (sheets.ts)
    await fingers.drag([(200, 500 + 10 * k) for k in range(12)])
    await wait_server(alice, lambda els: len(els) == 3)
    assert await page.evaluate("localStorage.getItem('inkroom.penMode')") == "touch"


async def test_text_box_and_board_move_above_the_on_screen_keyboard(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice, fingers = await phone_client(open_board, "alice")
    page = alice.page
    await page.tap("[data-tool=text]")
    ox, oy = await alice.canvas_origin()
    at = (60.0, 660.0)  # near the bottom of the canvas, where a keyboard rises
    world = await page.evaluate("([x, y]) => inkroom.editor.camera.toWorld(x, y)", list(at))
    await fingers.touch("touchStart", [(ox + at[0], oy + at[1])])
    await fingers.touch("touchEnd", [])
    await page.locator("#text-input").wait_for()

    # The keyboard opens: the page's height shrinks (interactive-widget=resizes-content).
    await page.set_viewport_size({"width": PHONE["width"], "height": 480})
    below = """() => document.getElementById('text-input').getBoundingClientRect().bottom
                  <= document.getElementById('board-canvas').getBoundingClientRect().bottom"""
    await wait_for(page, below)
    await page.screenshot(path=str(artifacts / "phone-text-above-keyboard.png"))
    await page.keyboard.type("hello phone")
    # A tap elsewhere on the board commits (Enter breaks a line, as in other whiteboards).
    ox, oy = await alice.canvas_origin()
    await fingers.touch("touchStart", [(ox + 300, oy + 60)])
    await fingers.touch("touchEnd", [])
    (text,) = await wait_server(alice, lambda els: len(els) == 1)
    # Written where the finger touched the board, though board and box moved up meanwhile.
    assert text["type"] == "text" and text["text"] == "hello phone"
    assert (text["x"], text["y"]) == (round(world[0]), round(world[1]))


async def test_right_click_opens_the_actions_of_what_is_under_the_pointer(
    open_board: Callable[..., Any],
) -> None:
    alice: Client = await open_board("alice")  # a desktop: the same actions as a long-press
    await alice.tool("rect")
    await alice.drag([(100, 100), (160, 140), (200, 180)])
    await wait_server(alice, lambda els: len(els) == 1)
    ox, oy = await alice.canvas_origin()
    await alice.page.mouse.click(ox + 100, oy + 140, button="right")
    await alice.page.locator("#dlg-selection").wait_for()
    assert await alice.page.inner_text("#sel-count") == "1 selected"
    await alice.page.click("#sel-delete")
    await wait_server(alice, lambda els: els == [])
    assert not await alice.page.is_visible("#dlg-selection")
