"""
Issue 17, the board list: a heading per section, each board with a server-rendered thumbnail of
what is on it, and boards shared with you listed too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page

from tests.frontend.browser import Client, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Dark pixels of the first loaded thumbnail in `list`, drawn into a canvas (same origin).
THUMB_DARK_JS = """list => {
  const img = document.querySelector(`#${list} li img.thumb`);
  if (!img || !img.complete || img.naturalWidth === 0) return -1;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let k = 0; k < d.length; k += 4) if (d[k] < 100 && d[k + 1] < 100 && d[k + 2] < 100) n++;
  return n;
}"""


async def dark_in_thumbnail(page: Page, list_id: str) -> int:
    await wait_for(page, f"({THUMB_DARK_JS})('{list_id}') >= 0")
    return await page.evaluate(THUMB_DARK_JS, list_id)


async def test_boards_are_listed_with_thumbnails_of_their_content(
    open_board: Callable[..., Any],
) -> None:
    alice: Client = await open_board("alice")
    await alice.page.goto(alice.base + "/")
    assert await dark_in_thumbnail(alice.page, "board-list") == 0  # nothing drawn yet
    headings = await alice.page.locator("main h1, main h2").all_inner_texts()
    assert headings == ["Your boards", "Shared with me"]

    await alice.page.go_back()
    await alice.wait_synced()
    await alice.stroke(100, 100, length=400)
    await alice.wait("inkroom.synced() && inkroom.outbox().length === 0")
    await alice.page.goto(alice.base + "/")
    assert await dark_in_thumbnail(alice.page, "board-list") > 50
    thumb = alice.page.locator("#board-list li img.thumb")
    assert await thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 200]

    # bob, an editor, sees it under "Shared with me", with the same picture.
    bob: Client = await open_board("bob")
    await bob.page.goto(bob.base + "/")
    assert await dark_in_thumbnail(bob.page, "shared-list") > 50
    assert await bob.page.locator("#board-list li").count() == 0
