"""
Issue 17, follow: a follower mirrors the leader's Fit (Shift+1) and 100 % (`0`), at any zoom the
leader can reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A small rectangle far from the origin: fitting it zooms the view to its 4x maximum for content.
SMALL_RECT = """() => inkroom.editor.submit([{k: 'add', el: {
  id: 'small-rect-1', type: 'rect', x: 3000, y: 2000, w: 40, h: 20,
  style: {color: '#1e1e1e', width: 2, opacity: 1, fill: null}}}])"""

# The world point at the centre of the canvas.
CENTRE_JS = """() => {
  const c = inkroom.camera(), el = document.getElementById('board-canvas');
  return [c.x + el.clientWidth / 2 / c.zoom, c.y + el.clientHeight / 2 / c.zoom];
}"""


async def follow(follower: Client, leader: Client) -> None:
    leader_id = await leader.page.evaluate("inkroom.clientId()")
    # The leader's chip shows once their presence arrived; a cursor move gives their viewport.
    await follower.wait("document.querySelectorAll('#presence li').length === 2")
    ox, oy = await leader.canvas_origin()
    await leader.page.mouse.move(ox + 300, oy + 300)
    await leader.page.mouse.move(ox + 320, oy + 310, steps=3)
    await follower.page.click("#presence button[aria-label^='Follow']")
    await follower.wait(f"inkroom.following() === {leader_id!r}")


async def centre(client: Client) -> list[float]:
    return await client.page.evaluate(CENTRE_JS)


async def test_followers_see_fit_and_100_percent_beyond_4x(open_board: Callable[..., Any]) -> None:
    alice = await open_board("alice")
    await alice.page.evaluate(SMALL_RECT)
    await alice.wait("inkroom.state().elements.length === 1")
    bob = await open_board("bob")
    await bob.page.keyboard.press("0")  # bob looks somewhere else than alice will
    await follow(bob, alice)

    # Fit: alice frames the rectangle; bob's view follows without him touching anything.
    await alice.page.focus("#board-canvas")
    await alice.page.keyboard.press("Shift+Digit1")
    fitted = await alice.page.evaluate("inkroom.camera()")
    await bob.wait(
        f"(() => {{ const [x, y] = ({CENTRE_JS})(); "
        "return Math.abs(x - 3020) < 2 && Math.abs(y - 2010) < 2; })()"
    )
    assert (await bob.page.evaluate("inkroom.camera()"))["zoom"] == pytest.approx(
        fitted["zoom"], rel=0.05
    )

    # Far in: bob goes as far as alice does, not stopping at 4x.
    for _ in range(6):
        await alice.page.keyboard.press("+")
    deep = (await alice.page.evaluate("inkroom.camera()"))["zoom"]
    assert deep > 8
    await bob.wait(f"inkroom.camera().zoom > {deep * 0.9}")

    # `0`: back to 100 % around the same centre, for both.
    await alice.page.keyboard.press("0")
    await bob.wait("Math.abs(inkroom.camera().zoom - 1) < 0.02")
    assert await centre(bob) == pytest.approx(await centre(alice), abs=2)
    assert await bob.page.evaluate("inkroom.following()") is not None
