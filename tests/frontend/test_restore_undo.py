"""
Issue 16: a snapshot restore is undoable by the user who did it. Before, Ctrl+Z after a restore
undid the user's previous step (re-adding what a clear had removed, on top of the restored
board) and the following redo cleared the restored board.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECT = """id => inkroom.editor.submit([{k: 'add', el: {id, type: 'rect', x: 100, y: 100,
  w: 80, h: 60, style: {color: '#1e1e1e', width: 2, opacity: 1, fill: null}}}])"""


async def server_ids(client: Client) -> list[str]:
    return sorted(el["id"] for el in (await client.server_state())["elements"])


async def wait_server(client: Client, ids: list[str]) -> None:
    for _ in range(100):
        if await server_ids(client) == sorted(ids):
            return
        await client.page.wait_for_timeout(100)
    assert await server_ids(client) == sorted(ids)


async def test_ctrl_z_undoes_a_restore_and_ctrl_shift_z_redoes_it(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    page = alice.page
    page.on("dialog", lambda dialog: dialog.accept())
    await page.evaluate(RECT, "kept")
    await wait_server(alice, ["kept"])
    # A labelled snapshot of the board holding "kept".
    await page.click("#btn-snapshots")
    await page.fill("#snap-label", "one rect")
    await page.click("#snap-form button[type=submit]")
    await alice.wait("document.querySelectorAll('#snap-list li').length === 1")
    await page.keyboard.press("Escape")
    # Then more work: bob adds a rect (an undo step of his), alice adds one and clears it all.
    await bob.page.evaluate(RECT, "bobs")
    await page.evaluate(RECT, "later")
    await wait_server(alice, ["bobs", "kept", "later"])
    await alice.wait("inkroom.view().elements.length === 3")
    await page.evaluate("inkroom.editor.clear()")
    await wait_server(alice, [])

    # Restore "one rect" from the snapshots dialog.
    await page.click("#btn-snapshots")
    await page.click("#snap-list li:has-text('one rect') button:has-text('Restore')")
    await wait_server(alice, ["kept"])
    await alice.wait("inkroom.view().elements.length === 1")
    await page.screenshot(path=str(artifacts / "restore-undo-restored.png"))

    # Ctrl+Z: the board as it was just before the restore (cleared), not "re-add the cleared".
    await page.focus("#board-canvas")
    await page.keyboard.press("Control+z")
    await wait_server(alice, [])
    # Ctrl+Shift+Z: the restored board again.
    await page.keyboard.press("Control+Shift+z")
    await wait_server(alice, ["kept"])
    # And once more each way: the steps keep working.
    await page.keyboard.press("Control+z")
    await wait_server(alice, [])
    await page.keyboard.press("Control+Shift+z")
    await wait_server(alice, ["kept"])
    await alice.wait("inkroom.view().elements.length === 1")

    # Bob's undo step (adding "bobs") was made meaningless by alice's restore: it is gone, so
    # his Ctrl+Z changes nothing instead of deleting or re-adding anything.
    await bob.wait("inkroom.view().elements.length === 1")
    assert not await bob.page.evaluate("inkroom.editor.undoStack.canUndo")
    await bob.page.focus("#board-canvas")
    await bob.page.keyboard.press("Control+z")
    await bob.page.wait_for_timeout(500)
    assert await server_ids(alice) == ["kept"]
    # The snapshots list keeps each "before" board, so nothing a restore replaced is lost.
    labels = await page.evaluate(
        "fetch(`/api/v1/boards/${document.body.dataset.boardId}/snapshots/`).then(r => r.json())"
    )
    names = [s["label"] for s in (labels["results"] if isinstance(labels, dict) else labels)]
    assert "Before restoring “one rect”" in names
