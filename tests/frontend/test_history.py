"""
Issue 17, history and snapshots: the slider steps by whole changes and says who made each and
when; while it shows the past the drawing tools are off and say why; automatic snapshots are
named by their time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from board.snapshots import create_snapshot
from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIME = re.compile(r"\d{1,2}:\d{2}:\d{2}")


async def label(client: Client) -> str:
    return await client.page.inner_text("#history-label")


async def step_back(client: Client, elements: int) -> None:
    await client.page.focus("#history-range")
    await client.page.keyboard.press("ArrowLeft")
    await client.wait(
        f"inkroom.preview() && inkroom.preview().elements.length === {elements}", timeout=5_000
    )


async def test_the_slider_steps_by_change_with_author_and_time_and_disables_the_tools(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    bob = await open_board("bob")
    await alice.stroke(100, 100, length=320)  # dozens of point appends, one change
    await bob.stroke(100, 300)
    await bob.wait("inkroom.state().elements.length === 2")
    await alice.wait("inkroom.state().elements.length === 2")
    await alice.tool("rect")
    await alice.drag([(500, 100), (600, 200)])
    await alice.wait("inkroom.synced() && inkroom.outbox().length === 0")
    first_stroke = (await alice.server_state())["elements"][0]
    assert len(first_stroke["p"]) >= 2 * 16

    await alice.page.click("#btn-history")
    await alice.wait("document.getElementById('history-range').max === '3'")
    now = await label(alice)
    assert now.startswith("alice · ") and "change 3 of 3" in now and TIME.search(now)

    await step_back(alice, 2)  # the rectangle, all of it
    assert (await label(alice)).startswith("bob · ")
    assert "change 2 of 3" in await label(alice)
    await step_back(alice, 1)  # bob's stroke, all of it
    assert (await alice.page.evaluate("inkroom.preview()"))["elements"] == [first_stroke]
    assert (await label(alice)).startswith("alice · ")

    # While the past is shown the drawing tools are off, and the page says why.
    assert await alice.page.is_disabled("[data-tool=pen]")
    assert await alice.page.is_disabled("#btn-undo")
    reason = alice.page.locator("#preview-reason")
    assert await reason.is_visible()
    assert await reason.inner_text() == "Previewing history — return to live to draw"
    await alice.page.focus("#board-canvas")
    await alice.page.keyboard.press("p")
    assert await alice.page.get_attribute("[data-tool=pen]", "aria-pressed") == "false"

    await alice.page.click("#history-live")
    assert await alice.page.is_enabled("[data-tool=pen]")
    # The tool in hand before the preview (the rectangle) is back.
    assert await alice.page.get_attribute("[data-tool=rect]", "aria-pressed") == "true"
    assert await reason.count() == 0 or not await reason.is_visible()


def auto_snapshot(board_id: str) -> None:
    try:
        create_snapshot(board_id)
    finally:
        # The worker thread's connection would keep the test database from being dropped.
        connections.close_all()


async def test_automatic_snapshots_are_named_by_their_time(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    await alice.stroke(100, 100)
    await alice.wait("inkroom.synced() && inkroom.outbox().length === 0")
    await sync_to_async(auto_snapshot)(alice.board_id)
    await alice.page.click("#btn-snapshots")
    row = alice.page.locator("#snap-list li").first
    await row.wait_for()
    text = await row.inner_text()
    assert text.startswith("Automatic snapshot · ") and TIME.search(text)
    assert "(no label)" not in text
