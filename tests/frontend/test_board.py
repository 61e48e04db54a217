"""
The board page in a real browser against a live server: two users drawing together, offline
edits, a reload that keeps the outbox, undo/redo, the viewer role, export and history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import DESKTOP, PHONE, Client
from tests.support.servers import start_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: A stroke drawn with the pen is dark: this many dark pixels near one of its points means it
#: was rendered (a 12x12 px box around a 4 px wide line holds ~40).
MIN_DARK_PIXELS = 8


def canonical(state: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Elements in z-order, for comparing a client's state with the server's.
    """
    return state["elements"]


async def converge(*clients: Client) -> dict[str, Any]:
    """
    Wait until every client applied the server's head and has an empty outbox; return the head.
    """
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        # Outboxes first: once they are empty every op is acknowledged, so committed, so in
        # the server's state read after them (read the other way, an ack landing between the
        # reads would return a head without that op).
        outboxes = [await c.outbox() for c in clients]
        server = await clients[0].server_state()
        states = [await c.state() for c in clients]
        if all(s["seq"] == server["seq"] for s in states) and not any(outboxes):
            return server
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"no convergence: server seq {server['seq']}, clients "
                f"{[s['seq'] for s in states]}, outboxes {[len(o) for o in outboxes]}"
            )
        await asyncio.sleep(0.1)


async def test_two_users_draw_go_offline_reload_and_converge(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")

    # A draws a stroke: B sees it grow before A lifts the pen (app ops stream while drawing).
    ox, oy = await alice.canvas_origin()
    stroke = [(120 + k * 10.0, 160 + (k % 4) * 5.0) for k in range(17)]
    await alice.tool("pen")
    await alice.page.mouse.move(ox + stroke[0][0], oy + stroke[0][1])
    await alice.page.mouse.down()
    for x, y in stroke[1:9]:
        await alice.page.mouse.move(ox + x, oy + y, steps=2)
    await bob.wait(
        "(() => { const els = inkroom.state().elements;"
        " return els.length === 1 && els[0].p.length >= 6; })()"
    )
    for x, y in stroke[9:]:
        await alice.page.mouse.move(ox + x, oy + y, steps=2)
    await alice.page.mouse.up()
    # ... and a rectangle; B sees both, in its state and on its canvas.
    await alice.tool("rect")
    await alice.drag([(420, 140), (520, 200), (560, 240)])
    await bob.wait("inkroom.state().elements.length === 2")
    kinds = [el["type"] for el in (await bob.state())["elements"]]
    assert kinds == ["stroke", "rect"]
    assert await bob.wait_drawn(*stroke[8], MIN_DARK_PIXELS) >= MIN_DARK_PIXELS
    assert await bob.wait_drawn(420, 190, MIN_DARK_PIXELS) >= MIN_DARK_PIXELS  # rect's left edge
    assert await bob.dark_pixels(300, 400) == 0  # empty canvas stays empty
    seq_two_elements = (await bob.state())["seq"]

    # B goes offline; A keeps drawing, B draws too (into its outbox).
    await bob.context.set_offline(True)
    await bob.wait("inkroom.status() === 'offline'")
    assert "Offline" in await bob.page.inner_text("#status")
    await alice.stroke(120, 320)
    await bob.page.click("[data-color='#e03131']")
    await bob.stroke(120, 480)
    assert len(await bob.outbox()) >= 2  # add + app(s)
    assert len(await bob.ids()) == 3  # its own offline stroke is rendered optimistically

    # A goes offline, draws, then reloads while the server is still unreachable for it: the
    # offline stroke must come back from the persisted outbox and reach the server afterwards.
    blocked = {"on": True}

    async def gate(ws: Any) -> None:
        if blocked["on"]:
            await ws.close(code=1012, reason="test: server unreachable")
        else:
            ws.connect_to_server()

    await alice.page.route_web_socket("**/ws/boards/**", gate)
    await alice.context.set_offline(True)
    await alice.wait("inkroom.status() === 'offline'")
    offline_stroke = await alice.stroke(600, 320)
    offline_ids = set(await alice.ids())
    pending = await alice.outbox()
    assert pending and pending[0]["k"] == "add"
    await alice.context.set_offline(False)
    await alice.page.reload()
    await alice.wait("window.inkroom && inkroom.outbox().length > 0")
    assert [op["i"] for op in await alice.outbox()] == [op["i"] for op in pending]
    assert pending[0]["el"]["id"] in await alice.ids()
    assert await alice.wait_drawn(*offline_stroke[8], MIN_DARK_PIXELS) >= MIN_DARK_PIXELS
    blocked["on"] = False
    await alice.wait_synced()
    await bob.context.set_offline(False)
    await bob.wait_synced()

    # Both converge to the server's log, including every offline stroke.
    head = await converge(alice, bob)
    assert canonical(await alice.state()) == canonical(head)
    assert canonical(await bob.state()) == canonical(head)
    assert len(head["elements"]) == 5
    assert offline_ids <= {el["id"] for el in head["elements"]}

    # Undo/redo of A's own action travels as ops: B sees the stroke vanish and come back.
    await alice.stroke(600, 480)
    await bob.wait("inkroom.state().elements.length === 6")
    await alice.page.keyboard.press("Control+z")
    await bob.wait("inkroom.state().elements.length === 5")
    await alice.page.keyboard.press("Control+Shift+z")
    await bob.wait("inkroom.state().elements.length === 6")
    head = await converge(alice, bob)
    assert canonical(await bob.state()) == canonical(head)

    # Live cursors: B hovers, A sees a named cursor; save the screenshots as artifacts.
    ox, oy = await bob.canvas_origin()
    await bob.page.mouse.move(ox + 700, oy + 200)
    await bob.page.mouse.move(ox + 720, oy + 210)
    await alice.page.mouse.move(ox + 300, oy + 600)
    await alice.wait("document.querySelectorAll('#presence li').length === 2")
    await asyncio.sleep(0.3)
    await alice.page.screenshot(path=str(artifacts / "board-alice.png"))
    await bob.page.screenshot(path=str(artifacts / "board-bob.png"))

    # Export PNG downloads a real, non-empty image.
    async with alice.page.expect_download() as info:
        await alice.page.click("#btn-export-png")
    download = await info.value
    png = Path(await download.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000

    # The history scrubber shows the board as it was after the first two elements (the slider
    # steps by change: the stroke is the first, the rectangle the second).
    await alice.page.click("#btn-history")
    await alice.wait("!document.getElementById('history-range').disabled")
    await alice.page.eval_on_selector(
        "#history-range", "el => { el.value = '2'; el.dispatchEvent(new Event('input')); }"
    )
    await alice.wait("seq => inkroom.preview() && inkroom.preview().seq === seq", seq_two_elements)
    preview = await alice.page.evaluate("inkroom.preview()")
    past = await alice.server_state(seq_two_elements)
    assert canonical(preview) == canonical(past)
    assert [el["type"] for el in preview["elements"]] == ["stroke", "rect"]
    assert await alice.page.is_visible("#preview-banner")
    # Read-only while previewing: drawing changes nothing.
    before = await alice.view()
    await alice.drag([(900, 500), (950, 550)])
    assert await alice.view() == before
    await alice.page.click("#history-live")
    assert await alice.page.evaluate("inkroom.preview()") is None


async def test_viewer_cannot_draw_but_follows_a_user(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    await alice.stroke(100, 100)
    carol: Client = await open_board("carol", viewport=PHONE)
    await carol.wait("inkroom.state().elements.length === 1")
    assert await carol.page.evaluate("inkroom.role()") == "viewer"
    assert await carol.page.is_visible("#readonly-badge")
    assert "read-only" in (await carol.page.inner_text("#status")).lower()
    assert await carol.page.is_disabled("[data-tool=pen]")
    # Even with the pen forced through the keyboard, nothing is drawn or sent.
    await carol.page.keyboard.press("p")
    await carol.drag([(50, 300), (150, 350), (250, 300)])
    assert len(await carol.ids()) == 1
    assert await carol.outbox() == []
    await asyncio.sleep(0.3)
    assert (await alice.server_state())["seq"] == (await carol.state())["seq"]

    # Following: carol clicks alice in the presence list; alice pans; carol's view follows.
    await carol.page.click("#presence li button:has-text('alice')")
    assert await carol.page.evaluate("inkroom.following()") is not None
    for _ in range(4):
        await alice.page.keyboard.press("ArrowRight")
        await alice.page.keyboard.press("ArrowDown")
    centre = "(() => { const [x, y, w, h] = inkroom.viewport(); return [x + w / 2, y + h / 2]; })()"
    want = await alice.page.evaluate(centre)
    await carol.wait(
        f"want => {{ const c = {centre}; "
        "return Math.abs(c[0] - want[0]) <= 2 && Math.abs(c[1] - want[1]) <= 2; }",
        want,
    )
    await carol.page.screenshot(path=str(artifacts / "board-viewer-phone.png"))


async def test_share_link_opens_board_read_only_until_revoked(
    open_board: Callable[..., Any], browser: Any
) -> None:
    alice: Client = await open_board("alice")
    await alice.stroke(100, 100)
    await alice.page.keyboard.press("?")  # the shortcut help overlay
    assert await alice.page.is_visible("#dlg-help")
    await alice.page.keyboard.press("Escape")
    await alice.page.click("#btn-share")
    await alice.page.select_option("#share-role", "viewer")
    await alice.page.click("#share-form button[type=submit]")
    link_field = alice.page.locator("#share-links li input")
    await link_field.wait_for()
    url = await link_field.input_value()
    assert "?share=" in url

    guest_context = await browser.new_context(viewport=DESKTOP)
    guest = Client(guest_context, await guest_context.new_page(), alice.base, alice.board_id)
    await guest.page.goto(url)
    await guest.wait_synced()
    assert await guest.page.evaluate("inkroom.role()") == "viewer"
    assert len((await guest.state())["elements"]) == 1
    assert await guest.page.is_visible("#readonly-badge")

    await alice.page.click("#share-links li button:has-text('Revoke')")
    await alice.page.locator("#share-links li").wait_for(state="detached")
    # The link is dead: the visitor on the board is told so at once, and again on reloading,
    # with a way to their boards (sign-in first).
    await guest.page.locator("#fatal h2", has_text="This share link was revoked").wait_for()
    assert await guest.page.locator("#toolbar").is_hidden()
    response = await guest.page.reload()
    assert response is not None and response.status == 410
    assert await guest.page.locator("h1").inner_text() == "This share link was revoked"
    await guest.page.click("text=Go to your boards")
    await guest.page.wait_for_url("**/login/**", timeout=15_000)


async def test_server_restart_reconnects_and_resends(
    open_board: Callable[..., Any],
    start_inkroom: Callable[..., Any],
    server_env: dict[str, str],
    tmp_path: Path,
) -> None:
    own = start_inkroom()  # this test stops its server, so it does not use the shared one
    alice: Client = await open_board("alice", on=own)
    await alice.stroke(100, 100)
    await converge(alice)
    own.stop(timeout=15)  # SIGTERM: the pod drains and closes sockets with 1012
    await alice.wait("inkroom.status() !== 'connected'")
    await alice.stroke(100, 300)  # drawn while the server is away: kept in the outbox
    assert await alice.outbox()
    replacement = start_server(env=server_env, log_dir=tmp_path / "restart", port=own.port)
    try:
        await alice.wait_synced()
        head = await converge(alice)
        assert len(head["elements"]) == 2
        assert canonical(await alice.state()) == canonical(head)
        assert await alice.page.inner_text("#status") == "Connected"
    finally:
        replacement.stop(timeout=5)


async def test_snapshot_create_preview_restore(open_board: Callable[..., Any]) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    await alice.stroke(100, 100)
    await alice.tool("ellipse")
    await alice.drag([(300, 100), (400, 180)])
    saved = canonical(await converge(alice, bob))

    await alice.page.click("#btn-snapshots")
    await alice.page.fill("#snap-label", "before the purge")
    await alice.page.click("#snap-form button[type=submit]")
    await alice.page.locator("#snap-list li", has_text="before the purge").wait_for()
    await alice.page.keyboard.press("Escape")

    # Clear (with its confirm dialog); both clients see an empty board.
    await alice.page.click("#btn-clear")
    await alice.page.click("#clear-confirm")
    await bob.wait("inkroom.state().elements.length === 0")

    # Preview shows the snapshot read-only without touching the live board.
    await alice.page.click("#btn-snapshots")
    await alice.page.click("#snap-list li button:has-text('Preview')")
    await alice.wait("inkroom.preview() && inkroom.preview().elements.length === 2")
    assert canonical(await alice.page.evaluate("inkroom.preview()")) == saved
    assert (await alice.state())["elements"] == []
    await alice.page.click("#preview-banner button")

    # Restore goes through the log (an `rst` op): every client converges on the saved elements.
    alice.page.once("dialog", lambda dialog: dialog.accept())
    await alice.page.click("#btn-snapshots")
    await alice.page.click("#snap-list li button:has-text('Restore')")
    await bob.wait("inkroom.state().elements.length === 2")
    head = await converge(alice, bob)
    assert canonical(head) == saved
    assert canonical(await bob.state()) == saved


async def test_select_restyle_move_and_delete(open_board: Callable[..., Any]) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    await alice.tool("rect")
    await alice.drag([(100, 100), (160, 150), (200, 200)])
    await alice.tool("line")
    await alice.drag([(300, 100), (400, 200)])
    await alice.stroke(300, 400)
    await bob.wait("inkroom.state().elements.length === 3")
    rect_id, line_id, stroke_id = [el["id"] for el in (await bob.state())["elements"]]

    # Click-select the rectangle (on its edge), recolour it, drag it by (+50, +30).
    await alice.tool("select")
    await alice.drag([(100, 150), (100, 150)])
    await alice.page.click("[data-color='#e03131']")
    # Control: no snapping (its middle would snap to the line's, 5 px off).
    await alice.page.keyboard.down("Control")
    await alice.drag([(100, 140), (130, 160), (150, 170)])  # its corners are resize handles
    await alice.page.keyboard.up("Control")
    await bob.wait(
        "id => { const r = inkroom.state().elements.find(e => e.id === id);"
        " return r && r.style.color === '#e03131' && r.x === 150 && r.y === 130; }",
        rect_id,
    )
    # Three arrow-key nudges are one undo step: Ctrl+Z puts it back where the drag left it.
    at = "([id, x]) => inkroom.state().elements.find(e => e.id === id)?.x === x"
    for _ in range(3):
        await alice.page.keyboard.press("ArrowRight")
    await bob.wait(at, [rect_id, 180])
    await alice.page.keyboard.press("Control+z")
    await bob.wait(at, [rect_id, 150])

    # Marquee around the line and the stroke, then Delete: only the rectangle stays.
    await alice.drag([(280, 60), (600, 300), (600, 480)])
    await alice.page.keyboard.press("Delete")
    await bob.wait("inkroom.state().elements.length === 1")
    assert [el["id"] for el in (await bob.state())["elements"]] == [rect_id]
    # Undo brings both back, for everyone.
    await alice.page.keyboard.press("Control+z")
    await bob.wait("inkroom.state().elements.length === 3")
    assert {el["id"] for el in (await bob.state())["elements"]} == {rect_id, line_id, stroke_id}
    head = await converge(alice, bob)
    assert canonical(await alice.state()) == canonical(head)


async def test_touch_draws_with_one_finger_and_pinch_zooms(open_board: Callable[..., Any]) -> None:
    bob: Client = await open_board("bob", viewport=PHONE, touch=True)
    cdp = await bob.context.new_cdp_session(bob.page)
    ox, oy = await bob.canvas_origin()

    async def touch(kind: str, points: list[tuple[float, float]]) -> None:
        await cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [
                    {"x": ox + x, "y": oy + y, "id": n} for n, (x, y) in enumerate(points)
                ],
            },
        )

    # One finger draws ink (simulated pressure: touch reports none worth trusting).
    await touch("touchStart", [(60, 200)])
    for k in range(1, 12):
        await touch("touchMove", [(60 + 15 * k, 200 + 4 * (k % 3))])
    await touch("touchEnd", [])
    await bob.wait("inkroom.state().elements.length === 1")
    stroke = (await bob.state())["elements"][0]
    assert stroke["type"] == "stroke" and "pr" not in stroke and len(stroke["p"]) >= 8

    # Two fingers spreading apart zoom in around their midpoint, drawing nothing.
    zoom_before = (await bob.page.evaluate("inkroom.camera()"))["zoom"]
    await touch("touchStart", [(150, 400), (250, 400)])
    for k in range(1, 8):
        await touch("touchMove", [(150 - 10 * k, 400), (250 + 10 * k, 400)])
    await touch("touchEnd", [])
    zoom_after = (await bob.page.evaluate("inkroom.camera()"))["zoom"]
    assert zoom_after > zoom_before * 1.8
    assert len((await bob.view())["elements"]) == 1
