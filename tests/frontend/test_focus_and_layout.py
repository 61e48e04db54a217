"""
Issue 17, accessibility and cosmetics: the canvas's keyboard focus ring is drawn whole, inside
the canvas (not as a bar over the toolbar), the "Inkroom" heading sits on the sign-in card, and
the board's toolbar is one row on a 1280 px laptop without scrolling sideways at 1024.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.frontend.browser import DESKTOP, PHONE
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The focus ring's box (outline width and offset around the border box) against the canvas's
# own box and the toolbar's, in CSS px; the ring must be on screen, visible and all inside.
RING_JS = """() => {
  const c = document.getElementById('board-canvas');
  const s = getComputedStyle(c);
  const r = c.getBoundingClientRect();
  const out = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
  const bar = document.getElementById('toolbar').getBoundingClientRect();
  return {focused: c.matches(':focus-visible'), style: s.outlineStyle,
          width: parseFloat(s.outlineWidth), ringTop: r.top - out, canvasTop: r.top,
          ringLeft: r.left - out, canvasLeft: r.left, toolbarBottom: bar.bottom};
}"""


async def test_canvas_focus_ring_is_inside_the_canvas(open_board: Callable[..., Any]) -> None:
    alice = await open_board("alice")
    await alice.page.focus("#btn-fit")
    await alice.page.keyboard.press("Tab")  # from the toolbar into the canvas, as a keyboard user
    ring = await alice.page.evaluate(RING_JS)
    assert ring["focused"], "Tab from the toolbar should reach the canvas"
    assert ring["style"] != "none" and ring["width"] >= 2, "keyboard focus needs a visible ring"
    assert ring["ringTop"] >= ring["canvasTop"] >= ring["toolbarBottom"] - 0.5
    assert ring["ringLeft"] >= ring["canvasLeft"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_the_heading_sits_on_the_sign_in_card(
    browser: Browser, server: ServerProcess, viewport: Any
) -> None:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(server.http_url("/login/"))
    heading = await page.locator("h1.brand").bounding_box()
    card = await page.locator("#auth-form").bounding_box()
    assert heading is not None and card is not None
    gap = card["y"] - (heading["y"] + heading["height"])
    assert 0 <= gap <= 32, f"{gap:.0f} px between the heading and the card"
    # Heading and card together are centred on the page.
    top, bottom = heading["y"], viewport["height"] - (card["y"] + card["height"])
    assert abs(top - bottom) <= 48 or top < 48


# Every toolbar control the layout shows (not folded into a popover): its row and right edge,
# and whether anything scrolls sideways.
TOOLBAR_JS = """() => {
  const bar = document.getElementById('toolbar');
  const shown = [...bar.querySelectorAll('button, input')].filter(b => {
    const r = b.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && !b.closest('[popover]:not(#style-pop):not(#shape-pop)');
  });
  const tops = [...new Set(shown.map(b => Math.round(b.getBoundingClientRect().top)))];
  const tools = [...bar.querySelectorAll('[data-tool]')].map(b => b.dataset.tool);
  const visibleTools = shown.filter(b => b.dataset.tool).map(b => b.dataset.tool);
  return {tops, tools, visibleTools, barHeight: bar.getBoundingClientRect().height,
          barScroll: bar.scrollWidth - bar.clientWidth,
          pageScroll: document.scrollingElement.scrollWidth - innerWidth,
          right: Math.max(...shown.map(b => b.getBoundingClientRect().right)), innerWidth};
}"""


@pytest.mark.parametrize(
    "viewport", [DESKTOP, {"width": 1024, "height": 768}], ids=["laptop-1280", "1024"]
)
async def test_toolbar_is_one_row_on_a_laptop_and_never_scrolls_sideways(
    open_board: Callable[..., Any], artifacts: Path, viewport: Any
) -> None:
    alice = await open_board("alice", viewport=viewport)
    bar = await alice.page.evaluate(TOOLBAR_JS)
    await alice.page.screenshot(path=str(artifacts / f"toolbar-{viewport['width']}.png"))
    assert bar["pageScroll"] <= 0 and bar["barScroll"] <= 0, bar
    # One row: every control shown starts within a few px of the same line.
    assert max(bar["tops"]) - min(bar["tops"]) <= 4, bar
    if viewport["width"] >= 1280:
        # ... with no tool folded away to get there.
        assert bar["visibleTools"] == bar["tools"], bar
