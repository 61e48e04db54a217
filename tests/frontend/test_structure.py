"""
Structure (issue 16) driven as a user does it, in headless Chromium, checked against the
server's `/state/`: arrows that stay attached to the shapes they were drawn to (also in a second
browser, and while another user deletes or rebinds the arrow), z-order keys, groups, lock, align.
Screenshots to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Presses on one element closer than this are a double-click (edit-tools.ts DOUBLE_CLICK_MS).
DOUBLE_CLICK_S = 0.45


async def server_until(
    client: Client, ok: Callable[[list[dict[str, Any]]], bool], timeout: float = 15
) -> list[dict[str, Any]]:
    """The server's elements once `ok(elements)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        els: list[dict[str, Any]] = (await client.server_state())["elements"]
        if ok(els):
            return els
        assert time.monotonic() < deadline, f"server state never matched: {els}"
        await asyncio.sleep(0.1)


async def settled(*clients: Client) -> list[dict[str, Any]]:
    """Wait until every client's outbox is empty and its confirmed state is the server's."""
    for client in clients:
        await client.wait("inkroom.outbox().length === 0")
    server = (await clients[0].server_state())["elements"]
    for client in clients:
        await client.wait("n => inkroom.state().seq >= n", (await clients[0].server_state())["seq"])
        assert (await client.state())["elements"] == server
    return server


def by_type(els: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [el for el in els if el["type"] == kind]


def end_of(el: dict[str, Any]) -> tuple[int, int]:
    return el["x"] + el["w"], el["y"] + el["h"]


async def draw(client: Client, tool: str, x: int, y: int, x2: int, y2: int) -> None:
    await client.tool(tool)
    await client.drag([(x, y), ((x + x2) // 2, (y + y2) // 2), (x2, y2)])


async def click(client: Client, x: int, y: int) -> None:
    await client.drag([(x, y), (x, y)])
    await asyncio.sleep(DOUBLE_CLICK_S)  # a later press on it is not a double-click


async def select_all_by_marquee(client: Client) -> None:
    await client.tool("select")
    await client.drag([(20, 20), (400, 300), (790, 560)])


async def test_an_arrow_drawn_to_a_rect_follows_it_in_both_browsers(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice = await open_board("alice")
    bob = await open_board("bob")
    await draw(alice, "rect", 100, 100, 200, 200)
    # From empty space into the rect: the end binds to it, at its centre (500 ‰, 500 ‰).
    await draw(alice, "arrow", 400, 150, 150, 150)
    els = await server_until(alice, lambda els: len(els) == 2)
    [rect], [arrow] = by_type(els, "rect"), by_type(els, "arrow")
    assert arrow["eb"] == {"id": rect["id"], "fx": 500, "fy": 500} and "sb" not in arrow
    assert end_of(arrow) == (150, 150)

    await alice.tool("select")
    await alice.drag([(120, 120), (150, 160), (170, 200)])
    els = await server_until(alice, lambda els: by_type(els, "rect")[0]["x"] == 150)
    [rect], [arrow] = by_type(els, "rect"), by_type(els, "arrow")
    assert (rect["x"], rect["y"]) == (150, 180)
    assert end_of(arrow) == (200, 230) and (arrow["x"], arrow["y"]) == (400, 150)
    assert await settled(alice, bob) == els
    assert (await bob.view())["elements"] == els
    await alice.page.screenshot(path=str(artifacts / "structure-arrow-follows.png"))

    # Dragging the arrow's end off the rect unbinds it; undo binds it again.
    await click(alice, 300, 190)  # on the arrow's shaft
    await alice.drag([(200, 230), (300, 300), (500, 400)])
    els = await server_until(alice, lambda els: "eb" not in by_type(els, "arrow")[0])
    assert end_of(by_type(els, "arrow")[0]) == (500, 400)
    await alice.page.keyboard.press("Control+z")
    els = await server_until(alice, lambda els: "eb" in by_type(els, "arrow")[0])
    assert end_of(by_type(els, "arrow")[0]) == (200, 230)


async def test_z_order_keys_reorder_the_board(open_board: Callable[..., Any]) -> None:
    alice = await open_board("alice")
    for k in range(3):
        await draw(alice, "rect", 100 + 40 * k, 100, 200 + 40 * k, 200)
    els = await server_until(alice, lambda els: len(els) == 3)
    a, b, c = (el["id"] for el in els)

    async def order() -> list[str]:
        return [el["id"] for el in (await alice.server_state())["elements"]]

    await alice.tool("select")
    await click(alice, 105, 150)  # only the bottom rect is there
    page = alice.page
    await page.keyboard.press("]")
    await server_until(alice, lambda els: [el["id"] for el in els] == [b, a, c])
    await page.keyboard.press("Control+Shift+BracketRight")
    await server_until(alice, lambda els: [el["id"] for el in els] == [b, c, a])
    await page.keyboard.press("[")
    await server_until(alice, lambda els: [el["id"] for el in els] == [b, a, c])
    await page.keyboard.press("Control+Shift+BracketLeft")
    await server_until(alice, lambda els: [el["id"] for el in els] == [a, b, c])
    # One undo step each.
    await page.keyboard.press("Control+z")
    await server_until(alice, lambda els: [el["id"] for el in els] == [b, a, c])
    assert await order() == [b, a, c]
    # Nothing selected: `]` is the pen width again, not a reorder.
    await click(alice, 700, 500)
    await page.keyboard.press("]")
    await asyncio.sleep(0.3)
    assert await order() == [b, a, c]


async def test_a_group_is_selected_and_moved_as_one(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice = await open_board("alice")
    await draw(alice, "rect", 100, 100, 160, 160)
    await draw(alice, "ellipse", 300, 100, 360, 160)
    await draw(alice, "rect", 100, 300, 160, 360)
    els = await server_until(alice, lambda els: len(els) == 3)
    first, second, loose = els
    await alice.tool("select")
    await alice.drag([(50, 50), (200, 120), (400, 200)])  # marquee the top two
    page = alice.page
    await page.keyboard.press("Control+g")
    els = await server_until(alice, lambda els: "grp" in els[0] and "grp" in els[1])
    assert els[0]["grp"] == els[1]["grp"] and len(els[0]["grp"]) == 1 and "grp" not in els[2]

    await click(alice, 700, 500)  # nothing
    await click(alice, 130, 130)
    assert sorted(await page.evaluate("[...inkroom.editor.selection]")) == sorted(
        [first["id"], second["id"]]
    )
    await alice.drag([(130, 130), (150, 150), (170, 180)])
    els = await server_until(alice, lambda els: els[0]["x"] == 140)
    assert (els[0]["x"], els[0]["y"], els[1]["x"], els[1]["y"]) == (140, 150, 340, 150)
    assert (els[2]["x"], els[2]["y"]) == (loose["x"], loose["y"])
    await page.screenshot(path=str(artifacts / "structure-group-moved.png"))

    # A double-click enters the group: one member alone.
    ox, oy = await alice.canvas_origin()
    await page.mouse.dblclick(ox + 370, oy + 180)
    assert await page.evaluate("[...inkroom.editor.selection]") == [second["id"]]
    await asyncio.sleep(DOUBLE_CLICK_S)
    await page.keyboard.press("Control+Shift+g")
    els = await server_until(alice, lambda els: "grp" not in els[1])
    assert "grp" in els[0]


async def test_a_locked_shape_cannot_be_moved_until_unlocked(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice = await open_board("alice")
    await draw(alice, "rect", 100, 100, 200, 200)
    [rect] = await server_until(alice, lambda els: len(els) == 1)
    await alice.tool("select")
    await click(alice, 150, 150)
    page = alice.page
    await page.keyboard.press("Control+Shift+l")
    await server_until(alice, lambda els: els[0].get("lock") is True)

    # A drag that starts on it is a marquee, not a move; Delete leaves it too.
    await click(alice, 700, 500)
    await alice.drag([(150, 150), (200, 200), (300, 300)])
    await page.keyboard.press("Delete")
    await asyncio.sleep(0.5)
    [still] = (await alice.server_state())["elements"]
    assert (still["x"], still["y"]) == (100, 100)

    # Right-click selects it anyway, with a padlock, and its Arrange sheet offers Unlock.
    ox, oy = await alice.canvas_origin()
    await page.mouse.click(ox + 150, oy + 150, button="right")
    await page.wait_for_selector("#dlg-selection[open]")
    await page.click("#sel-arrange")
    await page.wait_for_selector("#dlg-arrange[open]")
    assert await page.text_content("#sel-lock") == "Unlock"
    await page.screenshot(path=str(artifacts / "structure-locked-menu.png"))
    await page.click("#sel-lock")
    await server_until(alice, lambda els: "lock" not in els[0])
    await page.click("#dlg-arrange form button")
    await page.click("#dlg-selection form button")
    await click(alice, 700, 500)
    await alice.drag([(150, 150), (200, 200), (250, 250)])
    await server_until(alice, lambda els: els[0]["x"] == 200)
    assert rect["id"] == still["id"]


async def test_align_left_from_the_selection_menu(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice = await open_board("alice")
    await draw(alice, "rect", 100, 100, 160, 140)
    await draw(alice, "rect", 250, 200, 300, 260)
    await draw(alice, "ellipse", 180, 320, 260, 380)
    await server_until(alice, lambda els: len(els) == 3)
    await select_all_by_marquee(alice)
    page = alice.page
    ox, oy = await alice.canvas_origin()
    await page.mouse.click(ox + 130, oy + 120, button="right")
    await page.wait_for_selector("#dlg-selection[open]")
    await page.click("#sel-arrange")
    await page.click("#sel-align-left")
    els = await server_until(alice, lambda els: len({el["x"] for el in els}) == 1)
    assert els[0]["x"] == 100
    await page.screenshot(path=str(artifacts / "structure-aligned.png"))
    # One undo step puts all of them back.
    await page.click("#dlg-arrange form button")
    await page.click("#dlg-selection form button")
    await page.keyboard.press("Control+z")
    els = await server_until(alice, lambda els: [el["x"] for el in els] == [100, 250, 180])


async def test_moving_a_shape_while_another_user_deletes_or_rebinds_its_arrow_converges(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice = await open_board("alice")
    bob = await open_board("bob")
    await draw(alice, "rect", 100, 100, 200, 200)
    await draw(alice, "ellipse", 500, 100, 600, 200)
    await draw(alice, "arrow", 150, 150, 550, 150)
    await draw(alice, "arrow", 150, 180, 550, 180)
    els = await server_until(alice, lambda els: len(els) == 4)
    rect, oval, first, second = els
    assert first["sb"]["id"] == rect["id"] and first["eb"]["id"] == oval["id"]
    await settled(alice, bob)

    # At once: alice drags the rect; bob deletes the first arrow and drags the second one's
    # end off the ellipse onto empty space. Whichever lands first, the second arrow's start
    # stays on the rect (where alice moved it) and its end is where bob dropped it.
    await bob.tool("select")
    await click(bob, 350, 150)
    await alice.tool("select")

    async def alice_moves() -> None:
        await alice.drag([(120, 120), (140, 200), (160, 260)])

    async def bob_edits() -> None:
        await bob.page.keyboard.press("Delete")
        await click(bob, 545, 180)  # the shaft near its end, where alice's move barely tilts it
        await bob.drag([(550, 180), (620, 300), (700, 400)])

    await asyncio.gather(alice_moves(), bob_edits())
    els = await settled(alice, bob)
    assert [el["id"] for el in els] == [rect["id"], oval["id"], second["id"]]
    arrow = els[2]
    assert arrow["sb"] == {"id": rect["id"], "fx": 500, "fy": 800} and "eb" not in arrow
    assert (els[0]["x"], els[0]["y"]) == (140, 240)
    assert (arrow["x"], arrow["y"]) == (190, 320) and end_of(arrow) == (700, 400)
    await bob.page.screenshot(path=str(artifacts / "structure-concurrent.png"))
