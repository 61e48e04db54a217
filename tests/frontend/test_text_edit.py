"""
Text editing in place (issue 16), driven as a user does it in headless Chromium: double-click a
text to edit it, double-click a rect to label it, size and alignment controls, a text tool drag
that sets the wrap width (checked in the SVG export's lines), two browsers editing one text
(last writer wins, a notice names the other, undo restores the replaced text exactly). Results
are checked against the server's `/state/`; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from board.document.textlayout import text_box_lines
from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SVG = "{http://www.w3.org/2000/svg}"


async def server_elements(client: Client, done: Callable[[list[dict[str, Any]]], bool]) -> Any:
    """The server's elements once `done(elements)` holds (polled)."""
    for _ in range(300):
        elements = (await client.server_state())["elements"]
        if done(elements):
            return elements
        await client.page.wait_for_timeout(50)
    raise AssertionError(f"the server's state never matched: {elements}")


async def at(client: Client, x: float, y: float) -> tuple[float, float]:
    """The page position of canvas point (x, y) (world = canvas at the default camera)."""
    ox, oy = await client.canvas_origin()
    return ox + x, oy + y


async def place_text(client: Client, x: float, y: float, text: str) -> None:
    await client.tool("text")
    await client.page.mouse.click(*await at(client, x, y))
    await client.page.locator("#text-input").wait_for()
    await client.page.keyboard.type(text)
    await client.page.keyboard.press("Escape")  # commits


async def edit_at(client: Client, x: float, y: float) -> None:
    """Double-click canvas point (x, y) with the select tool: the editor opens there."""
    await client.tool("select")
    await client.page.mouse.dblclick(*await at(client, x, y))
    await client.page.locator("#text-input").wait_for()


async def replace_draft(client: Client, lines: list[str]) -> None:
    keyboard = client.page.keyboard
    await keyboard.press("Control+A")
    await keyboard.press("Delete")
    for n, line in enumerate(lines):
        if n:
            await keyboard.press("Enter")  # a new line, not a commit
        await keyboard.type(line)


async def test_double_click_edits_text_in_place_and_undo_restores_it(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await place_text(alice, 200, 200, "hello")
    (text,) = await server_elements(alice, lambda els: len(els) == 1)
    assert (text["type"], text["text"]) == ("text", "hello")

    await edit_at(alice, 215, 212)
    assert await page.locator("#text-input").input_value() == "hello"
    await replace_draft(alice, ["hello world", "second line"])
    await page.screenshot(path=str(artifacts / "text-edit-in-place.png"))
    await page.mouse.click(*await at(alice, 700, 500))  # a click outside commits
    (edited,) = await server_elements(
        alice, lambda els: els and els[0].get("text") == "hello world\nsecond line"
    )
    assert edited["id"] == text["id"]
    assert await page.locator("#text-input").is_hidden()

    await page.keyboard.press("Control+z")
    await server_elements(alice, lambda els: els and els[0]["text"] == "hello")

    # Enter edits the selected text too; emptied, the text goes.
    await page.mouse.click(*await at(alice, 215, 212))
    await alice.wait("inkroom.editor.selection.size === 1")
    await page.keyboard.press("Enter")
    await page.locator("#text-input").wait_for()
    assert await page.locator("#text-input").input_value() == "hello"
    await replace_draft(alice, [])
    await page.keyboard.press("Escape")
    await server_elements(alice, lambda els: els == [])


async def test_double_click_a_rect_labels_it_inside(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    await alice.tool("rect")
    await alice.drag([(300, 200), (400, 260), (500, 320)])
    (rect,) = await server_elements(alice, lambda els: len(els) == 1)
    await edit_at(alice, 400, 260)
    await alice.page.keyboard.type("Label")
    await alice.page.keyboard.press("Escape")
    (labelled,) = await server_elements(alice, lambda els: els and els[0].get("text") == "Label")
    assert labelled["id"] == rect["id"] and labelled["type"] == "rect"
    # Drawn inside the shape, centred: ink around the centre, none at the left inner edge.
    assert await alice.wait_drawn(400, 260, 20, radius=30) >= 20
    assert await alice.dark_pixels(318, 260, radius=6) == 0
    await alice.page.screenshot(path=str(artifacts / "text-label-in-rect.png"))
    # The label is undoable like any edit: it goes, the rect stays.
    await alice.page.keyboard.press("Control+z")
    (plain,) = await server_elements(alice, lambda els: els and "text" not in els[0])
    assert plain["id"] == rect["id"]

    # Grouped, the first double-click enters the group (selects the rect alone), the next edits.
    await alice.tool("rect")
    await alice.drag([(600, 200), (650, 230), (700, 260)])
    await server_elements(alice, lambda els: len(els) == 2)
    await alice.tool("select")
    await alice.drag([(250, 150), (500, 300), (750, 350)])  # a marquee around both
    await alice.page.keyboard.press("Control+g")
    await server_elements(alice, lambda els: all(el.get("grp") for el in els))
    await alice.page.mouse.click(*await at(alice, 700, 500))  # nothing selected
    await alice.page.mouse.dblclick(*await at(alice, 400, 260))
    await alice.wait(f"[...inkroom.editor.selection].join() === '{rect['id']}'")
    assert await alice.page.locator("#text-input").is_hidden()
    await edit_at(alice, 400, 260)
    await alice.page.keyboard.type("Grouped")
    await alice.page.keyboard.press("Escape")
    await server_elements(alice, lambda els: els[0].get("text") == "Grouped")


async def test_size_and_alignment_controls_restyle_the_selected_text(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await place_text(alice, 200, 200, "resize me")
    await server_elements(alice, lambda els: len(els) == 1)
    await alice.tool("select")
    await page.mouse.click(*await at(alice, 220, 212))
    await alice.wait("inkroom.editor.selection.size === 1")
    await page.click("#btn-text-style")
    await page.click("[data-text-size='56']")  # a choice closes the popover
    await page.click("#btn-text-style")
    await page.click("[data-align='center']")
    (text,) = await server_elements(
        alice, lambda els: els and els[0]["size"] == 56 and els[0].get("align") == "center"
    )
    await page.screenshot(path=str(artifacts / "text-size-align.png"))
    # A numeric size too, and new text takes the current size and alignment.
    await page.click("#btn-text-style")
    await page.fill("#text-size", "40")
    await page.press("#text-size", "Enter")
    await server_elements(alice, lambda els: els and els[0]["size"] == 40)
    await page.keyboard.press("Escape")  # closes the popover
    await alice.wait("!document.querySelector('#text-pop:popover-open')")
    await page.wait_for_timeout(300)  # a board press right after a popover closed is swallowed
    await place_text(alice, 200, 400, "new")
    els = await server_elements(alice, lambda els: len(els) == 2)
    assert (els[1]["size"], els[1]["align"]) == (40, "center")
    # One undo step per change: the size goes back to 56, then the alignment to none.
    await page.keyboard.press("Control+z")  # the new text
    await page.keyboard.press("Control+z")  # size 40
    await server_elements(alice, lambda els: len(els) == 1 and els[0]["size"] == 56)
    await page.keyboard.press("Control+z")  # alignment
    (back,) = await server_elements(alice, lambda els: len(els) == 1 and "align" not in els[0])
    assert back["id"] == text["id"]


async def test_dragging_out_a_text_box_wraps_it_in_the_export(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    page = alice.page
    await alice.tool("text")
    await alice.drag([(100, 300), (180, 310), (260, 320)])  # 160 wide
    await page.locator("#text-input").wait_for()
    words = "the quick brown fox jumps over the lazy dog and keeps running"
    await page.keyboard.type(words)
    await page.screenshot(path=str(artifacts / "text-wrap-editing.png"))
    await page.keyboard.press("Escape")
    (text,) = await server_elements(alice, lambda els: len(els) == 1)
    assert (text["text"], text["w"], text["x"], text["y"]) == (words, 160, 100, 300)
    lines = text_box_lines(text)
    assert len(lines) >= 3

    status, svg = await page.evaluate(
        "url => fetch(url).then(async r => [r.status, await r.text()])",
        f"/api/v1/boards/{alice.board_id}/export/svg/",
    )
    assert status == 200
    group = next(g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("data-id") == text["id"])
    assert [t.text for t in group.iter(f"{SVG}text")] == lines
    await page.screenshot(path=str(artifacts / "text-wrap.png"))


async def test_two_browsers_editing_one_text_converge_with_a_notice(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    await place_text(alice, 200, 200, "shared")
    (text,) = await server_elements(alice, lambda els: len(els) == 1)
    await bob.wait("inkroom.view().elements.length === 1")

    await edit_at(alice, 215, 212)
    await replace_draft(alice, ["alice draft"])
    await edit_at(bob, 215, 212)
    await replace_draft(bob, ["bob version"])
    await bob.page.keyboard.press("Escape")
    await server_elements(alice, lambda els: els[0]["text"] == "bob version")

    notice = alice.page.locator("#text-notice")
    await notice.wait_for()
    assert "bob changed this text" in (await notice.text_content() or "")
    assert await alice.page.locator("#text-input").input_value() == "alice draft"
    await alice.page.screenshot(path=str(artifacts / "text-concurrent-notice.png"))

    await alice.page.keyboard.press("Escape")  # last writer wins
    await server_elements(alice, lambda els: els[0]["text"] == "alice draft")
    for client in (alice, bob):
        await client.wait("inkroom.view().elements[0]?.text === 'alice draft'")
    # Undo restores exactly the text alice's commit replaced: bob's.
    await alice.page.keyboard.press("Control+z")
    (back,) = await server_elements(alice, lambda els: els[0]["text"] == "bob version")
    assert back["id"] == text["id"]
    await bob.wait("inkroom.view().elements[0]?.text === 'bob version'")
