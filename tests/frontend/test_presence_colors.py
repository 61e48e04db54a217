"""
Issue 17, presence colours: two people on one board are never shown in the same colour while
the palette has others, and every viewer shows each person in the same colour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from board.models import Membership, Role
from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each chip's label and background colour, and each remote cursor's colour by name.
CHIPS_JS = """() => Object.fromEntries([...document.querySelectorAll('#presence button')]
  .map(b => [b.textContent.replace(/ \\(you\\)$/, ''), getComputedStyle(b).backgroundColor]))"""
CURSORS_JS = "() => Object.fromEntries(inkroom.cursors().map(c => [c.name, c.color]))"


async def hover(client: Client) -> None:
    ox, oy = await client.canvas_origin()
    await client.page.mouse.move(ox + 200, oy + 200)
    await client.page.mouse.move(ox + 240, oy + 220, steps=3)


@pytest.fixture
def erin_and_frank(people: dict[str, Any], make_user: Callable[..., Any]) -> None:
    # They announce the same colour: their names hash to one palette entry.
    for name in ("erin", "frank"):
        Membership.objects.create(board=people["board"], user=make_user(name), role=Role.EDITOR)


@pytest.mark.usefixtures("erin_and_frank")
async def test_two_people_get_distinct_colours_seen_alike_by_both(
    open_board: Callable[..., Any],
) -> None:
    erin = await open_board("erin")
    frank = await open_board("frank")
    for client in (erin, frank):
        await client.wait(
            "document.querySelectorAll('#presence button').length === 2 && "
            "[...document.querySelectorAll('#presence button')]"
            ".every(b => !b.style.background.includes('30, 30, 30'))"  # announced, not default
        )
    seen_by_erin = await erin.page.evaluate(CHIPS_JS)
    seen_by_frank = await frank.page.evaluate(CHIPS_JS)
    assert seen_by_erin == seen_by_frank
    assert seen_by_erin["erin"] != seen_by_erin["frank"]

    # The cursors carry the chips' colours.
    await hover(erin)
    await frank.wait("inkroom.cursors().length === 1")
    frank_sees = await frank.page.evaluate(CURSORS_JS)
    await erin.page.evaluate(
        "c => { const b = document.createElement('b'); b.id = 'probe'; b.style.color = c; "
        "document.body.append(b); }",
        frank_sees["erin"],
    )
    probe = await erin.page.evaluate("getComputedStyle(document.getElementById('probe')).color")
    assert probe == seen_by_erin["erin"]
