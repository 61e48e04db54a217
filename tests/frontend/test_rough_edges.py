"""
Issue 17's rough edges in a real browser: sign-up field errors, the camera kept per board and
fitted on first open, reconnecting at once (Retry now, focus, the network back), error pages
(not found, access taken away), and keyboard access.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from playwright.async_api import Browser

from tests.frontend.browser import sign_in, wait_for
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def taken(make_user: Callable[..., Any]) -> Any:
    return make_user("taken")


async def test_signup_shows_each_fields_errors(
    browser: Browser, server: ServerProcess, taken: Any
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(server.http_url("/signup/"))
    await page.fill("#username", "taken")
    await page.fill("#password", "a-much-better-passphrase")
    await page.click("#auth-form button[type=submit]")
    username_error = page.locator("#username-error")
    await username_error.wait_for()
    assert "taken" in (await username_error.inner_text()).lower()
    assert await page.get_attribute("#username", "aria-invalid") == "true"

    # The password validators' messages, all of them, under the password; the username's is gone.
    await page.fill("#username", "fresh")
    await page.fill("#password", "abc123")
    await page.click("#auth-form button[type=submit]")
    password_error = page.locator("#password-error")
    await password_error.wait_for()
    password_text = (await password_error.inner_text()).lower()
    assert "too common" in password_text and "too short" in password_text
    assert await username_error.is_hidden()
    assert "Invalid input" not in await page.locator("body").inner_text()

    await page.fill("#password", "a-much-better-passphrase")
    await page.click("#auth-form button[type=submit]")
    await page.wait_for_url(server.http_url("/"))


FAR_RECT = """() => inkroom.editor.submit([{k: 'add', el: {
  id: 'far-rect-1', type: 'rect', x: 4000, y: 3000, w: 400, h: 200,
  style: {color: '#1e1e1e', width: 8, opacity: 1, fill: null}}}])"""

# The world point at the centre of the canvas.
CENTRE_JS = """() => {
  const c = inkroom.camera(), el = document.getElementById('board-canvas');
  return [c.x + el.clientWidth / 2 / c.zoom, c.y + el.clientHeight / 2 / c.zoom];
}"""


async def test_first_open_fits_content_and_a_reload_keeps_the_camera(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    await alice.page.evaluate(FAR_RECT)
    await alice.wait("inkroom.state().elements.length === 1")

    # bob's first visit frames the content (far from the origin), at no more than 100 %.
    bob = await open_board("bob")
    await bob.wait(
        f"(() => {{ const [x, y] = ({CENTRE_JS})(); "
        "return Math.abs(x - 4200) < 1 && Math.abs(y - 3100) < 1; })()"
    )
    assert (await bob.page.evaluate("inkroom.camera()"))["zoom"] <= 1
    await bob.wait_drawn(4000, 3100, 1)

    # He zooms out and pans; a reload opens exactly there, not at the origin or re-fitted.
    await bob.page.keyboard.press("-")
    await bob.page.keyboard.press("ArrowRight")
    moved = await bob.page.evaluate("inkroom.camera()")
    await bob.page.reload()
    await bob.wait_synced()
    await bob.wait("inkroom.camera().zoom < 1")
    assert await bob.page.evaluate("inkroom.camera()") == pytest.approx(moved)


async def test_zero_key_zooms_to_100_around_the_centre(open_board: Callable[..., Any]) -> None:
    alice = await open_board("alice")
    await alice.stroke(560, 340)  # around the default view's centre (1280 x ~600 canvas)
    centre = await alice.page.evaluate(CENTRE_JS)
    for _ in range(20):  # as far out as it goes
        await alice.page.keyboard.press("-")
    assert (await alice.page.evaluate("inkroom.camera()"))["zoom"] < 0.1
    await alice.page.keyboard.press("0")
    camera = await alice.page.evaluate("inkroom.camera()")
    assert camera["zoom"] == 1
    assert await alice.page.evaluate(CENTRE_JS) == pytest.approx(centre, abs=0.5)
    await alice.wait_drawn(640, 340, 1, radius=20)  # the stroke is on screen, not lost


# Drop the socket as a failure would, with the backoff's longest wait (15 s) before the retry.
LONG_BACKOFF_JS = """() => {
  const s = inkroom.editor.socket;
  window.realRandom = Math.random;
  Math.random = () => 0.999;
  s.attempt = 8;
  s.reconnect();
}"""


async def test_reconnect_at_once_on_focus_or_retry_and_grey_out_presence(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    bob = await open_board("bob")
    ox, oy = await bob.canvas_origin()
    await bob.page.mouse.move(ox + 400, oy + 300)
    await bob.page.mouse.move(ox + 420, oy + 310, steps=3)
    await alice.wait("document.querySelectorAll('#presence li').length === 2")

    await alice.page.evaluate(LONG_BACKOFF_JS)
    await alice.wait("inkroom.status() === 'reconnecting'")
    await alice.page.evaluate("Math.random = window.realRandom")
    assert "edits are kept" in await alice.page.evaluate("inkroom.statusText()")
    # What we last saw of bob is shown greyed: we no longer know where he is.
    await alice.page.locator("#presence.stale").wait_for(state="attached")
    assert [c["color"] for c in await alice.page.evaluate("inkroom.cursors()")] == ["#adb5bd"]

    await asyncio.sleep(1.1)  # RETRY_NOW_GAP_MS since the last attempt, as for focus below
    await alice.page.click("#btn-retry")
    await alice.wait("inkroom.synced()", timeout=5_000)  # not the 15 s of the backoff
    assert await alice.page.locator("#presence.stale").count() == 0
    assert await alice.page.locator("#btn-retry").is_hidden()

    # Regaining focus tries at once too.
    await alice.page.evaluate(LONG_BACKOFF_JS)
    await alice.wait("inkroom.status() === 'reconnecting'")
    await alice.page.evaluate("Math.random = window.realRandom")
    await asyncio.sleep(1.1)  # RETRY_NOW_GAP_MS since the last attempt
    await alice.page.evaluate("window.dispatchEvent(new Event('focus'))")
    await alice.wait("inkroom.synced()", timeout=5_000)


async def test_missing_board_page_is_titled_and_drops_the_editor(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    page = await (await browser.new_context()).new_page()
    await sign_in(page, server, "alice", next_path="/b/nosuchboard0000000000000/")
    await page.locator("#fatal").wait_for()
    await wait_for(page, "document.title === 'Board not found · Inkroom'")
    assert await page.locator("h1").inner_text() == "Board not found"
    enabled = "document.querySelectorAll('.topbar button:enabled, #toolbar button:enabled').length"
    assert await page.evaluate(enabled) == 0
    assert await page.locator("#toolbar").is_hidden()
    await page.click("#fatal a")
    await page.wait_for_url(server.http_url("/"))


async def test_unknown_path_has_a_page_in_the_apps_style(
    browser: Browser, server: ServerProcess
) -> None:
    page = await (await browser.new_context()).new_page()
    response = await page.goto(server.http_url("/no/such/page"))
    assert response is not None and response.status == 404
    assert await page.title() == "Page not found · Inkroom"
    assert await page.locator("h1").inner_text() == "Page not found"
    assert await page.locator("link[href$='app.css']").count() == 1
    await page.click("text=Go to your boards")
    await page.wait_for_url("**/login/?next=/")


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_paths_404_page_under_debug_or_not(debug: bool) -> None:
    client = DjangoClient(HTTP_HOST="127.0.0.1")
    with override_settings(DEBUG=debug):
        response = client.get("/no/such/page")
        assert response.status_code == 404
        assert b"Page not found \xc2\xb7 Inkroom" in response.content
        # The slash is still appended to a page that has one; the API keeps its JSON 404.
        assert client.get("/login")["Location"] == "/login/"
        assert client.get("/signup?next=/b/x/")["Location"] == "/signup/?next=/b/x/"
        api = client.get("/api/v1/no-such-thing/")
        assert api.status_code == 404 and api["Content-Type"].startswith("application/json")


async def test_space_presses_a_focused_toolbar_button_and_the_board_list_has_an_h1(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    await alice.page.focus("[data-tool=eraser]")
    await alice.page.keyboard.press("Space")
    await alice.wait("document.querySelector('[data-tool=eraser]').ariaPressed === 'true'")
    await alice.page.focus("#btn-fill")
    await alice.page.keyboard.press("Space")
    await alice.wait("document.getElementById('btn-fill').ariaPressed === 'true'")

    await alice.page.goto(alice.base + "/")
    assert await alice.page.locator("h1").all_inner_texts() == ["Your boards"]


async def test_reconnect_at_once_when_the_network_returns(
    open_board: Callable[..., Any],
) -> None:
    alice = await open_board("alice")
    await alice.context.set_offline(True)
    await alice.page.evaluate(LONG_BACKOFF_JS)
    await alice.wait("inkroom.status() !== 'connected'")
    await alice.page.evaluate("Math.random = window.realRandom")
    await alice.context.set_offline(False)  # the browser's `online`: no 15 s wait
    await alice.wait("inkroom.synced()", timeout=5_000)


async def test_a_member_removed_while_on_the_board_gets_the_no_access_page(
    open_board: Callable[..., Any], people: dict[str, Any]
) -> None:
    alice = await open_board("alice")
    bob = await open_board("bob")
    bob_id = people["bob"].pk
    status = await alice.page.evaluate(
        """([board, id]) => fetch(`/api/v1/boards/${board}/members/${id}/`, {
             method: 'DELETE', credentials: 'same-origin',
             headers: {'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]}})
           .then(r => r.status)""",
        [alice.board_id, bob_id],
    )
    assert status == 204
    await bob.page.locator("#fatal h2").wait_for()
    assert await bob.page.locator("#fatal h2").inner_text() == "No access to this board"
    await wait_for(bob.page, "document.title === 'No access to this board · Inkroom'")
    assert await bob.page.locator("#toolbar").is_hidden()
