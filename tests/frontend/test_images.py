"""
Images (issue 16), driven as a user does it in headless Chromium: the toolbar button's file
picker, pasting a screenshot, dropping a file; each checked against the server's `/state/` and
the canvas's pixels; screenshots to test-artifacts/.
"""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser

from board.models import Board
from tests.frontend.browser import DESKTOP, Client, sign_in, wait_for
from tests.support.factories import create_board
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The canvas colour (r, g, b) at world point (x, y), read from the screen's base layer.
PIXEL_JS = """([wx, wy]) => {
  const c = document.getElementById('board-canvas');
  const dpr = window.devicePixelRatio || 1;
  const [sx, sy] = window.inkroom.toScreen(wx, wy);
  const d = c.getContext('2d').getImageData(Math.round(sx * dpr), Math.round(sy * dpr), 1, 1).data;
  return [d[0], d[1], d[2]];
}"""

#: Paste a PNG (base64) as a screenshot is pasted: a clipboard event carrying only the file.
PASTE_JS = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
  const init = { clipboardData: data, bubbles: true, cancelable: true };
  const event = new ClipboardEvent('paste', init);
  document.getElementById('board-canvas').dispatchEvent(event);
  return event.defaultPrevented;
}"""

#: Drop a file on the canvas at canvas point (x, y), as a file dragged from the desktop.
DROP_JS = """([b64, name, type, x, y]) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const canvas = document.getElementById('board-canvas');
  const r = canvas.getBoundingClientRect();
  const at = { clientX: r.left + x, clientY: r.top + y, dataTransfer: data, bubbles: true,
               cancelable: true };
  canvas.dispatchEvent(new DragEvent('dragover', at));
  const drop = new DragEvent('drop', at);
  canvas.dispatchEvent(drop);
  return drop.defaultPrevented;
}"""


def picture(size: tuple[int, int], color: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


async def editor(browser: Browser, server: ServerProcess, board_id: str) -> Client:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, server, "alice", next_path=f"/b/{board_id}/")
    client = Client(context, page, server.http_url(""), board_id)
    await client.wait_synced()
    return client


async def server_images(client: Client, count: int) -> list[dict[str, Any]]:
    await client.wait(
        "([id, n]) => fetch(`/api/v1/boards/${id}/state/`).then(r => r.json())"
        ".then(s => s.elements.filter(e => e.type === 'image').length === n)",
        [client.board_id, count],
    )
    state = await client.server_state()
    return [el for el in state["elements"] if el["type"] == "image"]


async def wait_colour(client: Client, x: float, y: float, rgb: tuple[int, int, int]) -> None:
    """Wait until the canvas shows `rgb` (give or take a little) at world point (x, y)."""
    await wait_for(
        client.page,
        f"args => ({PIXEL_JS})(args).every((v, k) => Math.abs(v - {list(rgb)}[k]) <= 6)",
        arg=[x, y],
    )


async def test_the_toolbar_button_uploads_and_places_an_image(
    browser: Browser, server: ServerProcess, people: dict[str, Any], artifacts: Path, tmp_path: Path
) -> None:
    red = picture((200, 120), (220, 40, 40))
    file = tmp_path / "diagram.png"
    file.write_bytes(red)
    alice = await editor(browser, server, people["board"].id)
    page = alice.page
    async with page.expect_file_chooser() as chooser:
        await page.click("#btn-image")
    await (await chooser.value).set_files(str(file))

    [el] = await server_images(alice, 1)
    assert el["asset"] == hashlib.sha256(red).hexdigest()
    assert (el["w"], el["h"]) == (200, 120)  # natural size, centred on the view
    view = await page.evaluate("inkroom.viewport()")
    centre = (view[0] + view[2] / 2, view[1] + view[3] / 2)
    assert abs(el["x"] + 100 - centre[0]) <= 1 and abs(el["y"] + 60 - centre[1]) <= 1
    assert await page.evaluate("[...inkroom.editor.selection]") == [el["id"]]
    await wait_colour(alice, el["x"] + 100, el["y"] + 60, (220, 40, 40))
    await page.screenshot(path=str(artifacts / "images-button.png"))

    # Served to the board from the database, as uploaded.
    url = f"/api/v1/boards/{alice.board_id}/assets/{el['asset']}/"
    body = await page.evaluate(
        "url => fetch(url).then(r => r.arrayBuffer())"
        ".then(b => btoa(String.fromCharCode(...new Uint8Array(b))))",
        url,
    )
    assert base64.b64decode(body) == red

    # One undo step takes it away again.
    await page.keyboard.press("Control+z")
    await server_images(alice, 0)


async def test_pasting_a_screenshot_and_dropping_a_file_place_them_there(
    browser: Browser, server: ServerProcess, people: dict[str, Any], artifacts: Path
) -> None:
    alice = await editor(browser, server, people["board"].id)
    page = alice.page
    ox, oy = await alice.canvas_origin()
    # A screenshot bigger than the board's default: placed at most 1024 units on its long side.
    shot = picture((2048, 1024), (40, 90, 220))
    await page.mouse.move(ox + 640, oy + 330, steps=2)
    assert await page.evaluate(PASTE_JS, base64.b64encode(shot).decode())
    [pasted] = await server_images(alice, 1)
    assert (pasted["w"], pasted["h"]) == (1024, 512)
    cx, cy = await page.evaluate("([x, y]) => inkroom.editor.camera.toWorld(x, y)", [640, 330])
    assert abs(pasted["x"] + 512 - cx) <= 1 and abs(pasted["y"] + 256 - cy) <= 1
    await wait_colour(alice, pasted["x"] + 512, pasted["y"] + 256, (40, 90, 220))

    # A JPEG dropped at (200, 150): centred there, drawn on top.
    photo = picture((160, 100), (30, 160, 60), "JPEG")
    arg = [base64.b64encode(photo).decode(), "photo.jpg", "image/jpeg", 200, 150]
    assert await page.evaluate(DROP_JS, arg)
    images = await server_images(alice, 2)
    dropped = images[1]
    wx, wy = await page.evaluate("([x, y]) => inkroom.editor.camera.toWorld(x, y)", [200, 150])
    assert abs(dropped["x"] + 80 - wx) <= 1 and abs(dropped["y"] + 50 - wy) <= 1
    await wait_colour(alice, dropped["x"] + 80, dropped["y"] + 50, (30, 160, 60))
    await page.screenshot(path=str(artifacts / "images-paste-drop.png"))

    # Zoomed far out the preview stands in; the picture is still there, not a placeholder.
    await page.evaluate("inkroom.editor.zoomBy(0.25)")
    await wait_colour(alice, pasted["x"] + 700, pasted["y"] + 400, (40, 90, 220))

    # A text file is refused by the server, said on screen, and adds nothing.
    text = base64.b64encode(b"not an image").decode()
    assert await page.evaluate(DROP_JS, [text, "notes.png", "image/png", 300, 300])
    await wait_for(
        page, "document.getElementById('image-status').textContent.includes('PNG, JPEG')"
    )
    assert len(await server_images(alice, 2)) == 2


@pytest.fixture
def other_board(people: dict[str, Any]) -> Board:
    # Made here, on the test's own connection: an ORM call from the async test would open
    # another one in a worker thread that outlives the test database.
    return create_board(people["alice"], "Elsewhere")


async def test_a_viewer_cannot_insert_and_another_board_reuses_a_pasted_image(
    browser: Browser,
    server: ServerProcess,
    people: dict[str, Any],
    open_board: Any,
    other_board: Board,
) -> None:
    alice = await editor(browser, server, people["board"].id)
    green = picture((120, 80), (30, 160, 60))
    assert await alice.page.evaluate(PASTE_JS, base64.b64encode(green).decode())
    [el] = await server_images(alice, 1)

    carol = await open_board("carol")  # a viewer: sees it, cannot add
    await wait_colour(carol, el["x"] + 60, el["y"] + 40, (30, 160, 60))
    assert await carol.page.locator("#btn-image").is_disabled()
    assert not await carol.page.evaluate(PASTE_JS, base64.b64encode(green).decode())

    # The same element added on another board of alice's (what a paste across boards sends):
    # that board links the asset when it first fails to serve it, and draws the picture.
    elsewhere = await editor(browser, server, other_board.id)
    await elsewhere.page.evaluate(
        "el => inkroom.editor.submit([{k: 'add', el}])", {**el, "id": "copied1"}
    )
    await wait_colour(elsewhere, el["x"] + 60, el["y"] + 40, (30, 160, 60))
