"""
Copy, cut, paste, duplicate and select all (issue 16), driven as a user does it: mouse and
keyboard in headless Chromium with clipboard permissions, checked against the server's
`/state/`; screenshots to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser

from board.models import Board, Membership, Role
from tests.frontend.browser import DESKTOP, Client, sign_in, wait_for
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: A pointer position off the canvas (the top bar), so a paste goes beside the originals.
OFF_CANVAS = (640, 10)
#: What the system clipboard holds for other apps: the SVG's text and the PNG's size (once the
#: asynchronous write with them is done, else null).
CLIPBOARD_IMAGES_JS = """async () => {
  try {
    const [item] = await navigator.clipboard.read();
    if (!item.types.includes('image/svg+xml') || !item.types.includes('image/png')) return null;
    const svg = await (await item.getType('image/svg+xml')).text();
    const png = await createImageBitmap(await item.getType('image/png'));
    return [svg, [png.width, png.height]];
  } catch (e) {
    return null;  // the page not focused for a moment on a loaded box: ask again
  }
}"""


async def clipboard_client(
    browser: Browser, server: ServerProcess, board_id: str, username: str = "alice"
) -> Client:
    context = await browser.new_context(
        viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    page = await context.new_page()
    await sign_in(page, server, username, next_path=f"/b/{board_id}/")
    client = Client(context, page, server.http_url(""), board_id)
    await client.wait_synced()
    return client


async def hover(client: Client, x: float, y: float) -> None:
    """Move the mouse to canvas point (x, y) (world = canvas at the default camera)."""
    ox, oy = await client.canvas_origin()
    await client.page.mouse.move(ox + x, oy + y, steps=2)


async def server_elements(client: Client, count: int) -> list[dict[str, Any]]:
    """The server's elements once there are `count` of them."""
    await client.wait(
        "([id, n]) => fetch(`/api/v1/boards/${id}/state/`)"
        ".then(r => r.json()).then(s => s.elements.length === n)",
        [client.board_id, count],
    )
    elements: list[dict[str, Any]] = (await client.server_state())["elements"]
    return elements


async def selection(client: Client) -> list[str]:
    ids: list[str] = await client.page.evaluate("[...inkroom.editor.selection]")
    return ids


def geometry(el: dict[str, Any]) -> tuple[Any, ...]:
    return (el["type"], el["x"], el["y"], el.get("w"), el.get("h"))


async def draw_rect(client: Client, x: int, y: int, w: int, h: int) -> None:
    await client.tool("rect")
    await client.drag([(x, y), (x + w // 2, y + h // 2), (x + w, y + h)])


@pytest.fixture
def other_board(people: dict[str, Any]) -> Board:
    board = Board.objects.create(owner=people["alice"], title="Other board")
    Membership.objects.create(board=board, user=people["alice"], role=Role.OWNER)
    return board


async def test_copy_paste_at_pointer_cascade_offset_cut_and_undo(
    browser: Browser, server: ServerProcess, people: dict[str, Any], artifacts: Path
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    page = alice.page
    await draw_rect(alice, 100, 100, 100, 100)
    [original] = await server_elements(alice, 1)
    assert geometry(original) == ("rect", 100, 100, 100, 100)

    # Select it (click its edge), copy, paste with the pointer at (500, 400): centred there.
    await alice.tool("select")
    await alice.drag([(100, 150), (100, 150)])
    await page.keyboard.press("Control+c")
    await hover(alice, 500, 400)
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 2)
    pasted = els[1]
    assert pasted["id"] != original["id"]
    assert geometry(pasted) == ("rect", 450, 350, 100, 100)
    assert pasted["style"] == original["style"]
    assert await selection(alice) == [pasted["id"]]

    # Again without moving the pointer: 16 further (a cascade).
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 3)
    assert geometry(els[2]) == ("rect", 466, 366, 100, 100)

    # With the pointer off the canvas: beside the originals, +16/+16.
    await page.mouse.move(*OFF_CANVAS, steps=4)
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 4)
    assert geometry(els[3]) == ("rect", 116, 116, 100, 100)
    await page.screenshot(path=str(artifacts / "clipboard-pasted.png"))

    # Undo takes the last paste away.
    await page.keyboard.press("Control+z")
    els = await server_elements(alice, 3)
    assert [geometry(el) for el in els][2] == ("rect", 466, 366, 100, 100)

    # Cut the original: gone from the server; paste brings a copy back beside where it was.
    await alice.drag([(100, 150), (100, 150)])
    assert await selection(alice) == [original["id"]]
    await page.keyboard.press("Control+x")
    els = await server_elements(alice, 2)
    assert original["id"] not in {el["id"] for el in els}
    await page.mouse.move(*OFF_CANVAS, steps=4)
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 3)
    assert geometry(els[2]) == ("rect", 116, 116, 100, 100)
    # Cut was one undo step: undo the paste, then the cut, and the original is back.
    await page.keyboard.press("Control+z")
    await server_elements(alice, 2)
    await page.keyboard.press("Control+z")
    els = await server_elements(alice, 3)
    assert original["id"] in {el["id"] for el in els}

    # Other apps get the selection as SVG and PNG next to the payload: the rectangle's ink
    # (100 wide plus its 4-unit stroke) with 16 of room each side, the PNG at 2 px a unit.
    await alice.drag([(100, 150), (100, 150)])
    await page.keyboard.press("Control+c")
    svg, png_size = await wait_for(page, CLIPBOARD_IMAGES_JS)
    assert '<rect x="100" y="100" width="100" height="100"' in svg
    assert 'viewBox="82 82 136 136"' in svg
    assert png_size == [272, 272]


async def test_duplicate_select_all_delete_and_the_selection_sheet(
    browser: Browser, server: ServerProcess, people: dict[str, Any], artifacts: Path
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    page = alice.page
    await draw_rect(alice, 100, 100, 80, 60)
    await alice.stroke(300, 300)
    before = await server_elements(alice, 2)

    # Ctrl+D duplicates the selection +16/+16 and selects the copies.
    await alice.tool("select")
    await alice.drag([(100, 130), (100, 130)])
    await page.keyboard.press("Control+d")
    els = await server_elements(alice, 3)
    assert geometry(els[2]) == ("rect", 116, 116, 80, 60)
    assert await selection(alice) == [els[2]["id"]]
    # Again: from the copy, so another 16 on.
    await page.keyboard.press("Control+d")
    els = await server_elements(alice, 4)
    assert geometry(els[3]) == ("rect", 132, 132, 80, 60)

    # The selection sheet (right click): Duplicate there too.
    ox, oy = await alice.canvas_origin()
    await page.mouse.click(ox + 300, oy + 300, button="right")
    await page.click("#sel-duplicate")
    els = await server_elements(alice, 5)
    stroke_copy = els[4]
    assert stroke_copy["type"] == "stroke"
    assert (stroke_copy["x"], stroke_copy["y"]) == (before[1]["x"] + 16, before[1]["y"] + 16)
    assert stroke_copy["p"] == before[1]["p"]

    # Ctrl+A selects everything (from another tool too); Delete empties the board.
    await alice.tool("pen")
    await page.keyboard.press("Control+a")
    assert sorted(await selection(alice)) == sorted(el["id"] for el in els)
    await page.screenshot(path=str(artifacts / "clipboard-select-all.png"))
    await page.keyboard.press("Delete")
    await server_elements(alice, 0)
    await page.keyboard.press("Control+z")
    await server_elements(alice, 5)


async def test_paste_into_another_board_plain_text_and_undo_of_a_paste(
    browser: Browser,
    server: ServerProcess,
    people: dict[str, Any],
    other_board: Board,
    artifacts: Path,
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    await draw_rect(alice, 100, 100, 100, 80)
    await alice.tool("ellipse")
    await alice.drag([(300, 100), (350, 150), (400, 200)])
    await alice.stroke(100, 300)
    originals = await server_elements(alice, 3)
    await alice.tool("select")
    await alice.drag([(60, 60), (500, 420), (700, 500)])
    assert len(await selection(alice)) == 3
    await alice.page.keyboard.press("Control+c")

    # A second page of the same browser on another board: Ctrl+V there.
    page2 = await alice.context.new_page()
    await page2.goto(server.http_url(f"/b/{other_board.id}/"))
    other = Client(alice.context, page2, server.http_url(""), other_board.id)
    await other.wait_synced()
    await hover(other, 600, 400)
    await page2.keyboard.press("Control+v")
    pasted = await server_elements(other, 3)
    assert [el["type"] for el in pasted] == ["rect", "ellipse", "stroke"]
    assert not {el["id"] for el in pasted} & {el["id"] for el in originals}
    # Moved together: the same offsets between them as on the first board.
    dx, dy = pasted[0]["x"] - originals[0]["x"], pasted[0]["y"] - originals[0]["y"]
    assert (dx, dy) != (0, 0)
    for a, b in zip(originals, pasted, strict=True):
        assert (b["x"] - a["x"], b["y"] - a["y"]) == (dx, dy)
        assert {k: v for k, v in a.items() if k not in ("id", "x", "y")} == {
            k: v for k, v in b.items() if k not in ("id", "x", "y")
        }
    await page2.screenshot(path=str(artifacts / "clipboard-other-board.png"))

    # The paste was one undo step: Ctrl+Z removes all three.
    await page2.keyboard.press("Control+z")
    await server_elements(other, 0)
    await page2.keyboard.press("Control+Shift+z")
    await server_elements(other, 3)

    # Plain text from elsewhere becomes a text element at the pointer.
    await page2.evaluate("navigator.clipboard.writeText('hello\\r\\nfrom elsewhere')")
    await hover(other, 200, 500)
    await page2.keyboard.press("Control+v")
    els = await server_elements(other, 4)
    assert (els[3]["type"], els[3]["text"], els[3]["x"], els[3]["y"]) == (
        "text",
        "hello\nfrom elsewhere",
        200,
        500,
    )

    # A paste carrying a file (and its name as text, as from a file manager) is left to the
    # images feature (tests/frontend/test_images.py): not pasted as the text "shot.png". These
    # four bytes are no PNG, so the server refuses the upload and nothing is added.
    taken = await page2.evaluate(
        """() => {
          const dt = new DataTransfer();
          const bytes = new Uint8Array([137, 80, 78, 71]);
          dt.items.add(new File([bytes], 'shot.png', {type: 'image/png'}));
          dt.setData('text/plain', 'shot.png');
          const init = {clipboardData: dt, bubbles: true, cancelable: true};
          const e = new ClipboardEvent('paste', init);
          document.getElementById('board-canvas').dispatchEvent(e);
          return e.defaultPrevented;
        }"""
    )
    assert taken is True  # by the images feature's listener, after the clipboard's let it by
    await wait_for(page2, "document.getElementById('image-status').dataset.kind === 'error'")
    assert len((await other.server_state())["elements"]) == 4


#: A stroke of 3000 points (three ops' worth at the default 1024 a op), added as the pen does:
#: an `add` and `app`s, through the editor so it is an ordinary user edit.
LONG_STROKE_JS = """() => {
  const id = 'longstroke01';
  const p = [];
  for (let k = 0; k < 2999; k++) p.push(k % 2 ? 1 : 0, k % 3 ? 0 : 1);
  const style = {color: '#1e1e1e', width: 4, opacity: 1, fill: null};
  const ops = [{k: 'add', el: {id, type: 'stroke', x: 100, y: 400, style, p: [0, 0]}}];
  for (let k = 0; k < p.length; k += 2048) ops.push({k: 'app', id, p: p.slice(k, k + 2048)});
  inkroom.editor.submit(ops);
}"""

#: 300 small rectangles in a grid below the others, as one submit.
MANY_RECTS_JS = """() => {
  const style = {color: '#1e1e1e', width: 2, opacity: 1, fill: null};
  const ops = [];
  for (let k = 0; k < 300; k++) {
    const x = 700 + (k % 20) * 20;
    const y = 400 + Math.floor(k / 20) * 20;
    const el = {id: `many${k}`, type: 'rect', x, y, w: 10, h: 10, style};
    ops.push({k: 'add', el});
  }
  inkroom.editor.submit(ops);
}"""


async def test_sheet_buttons_long_strokes_and_a_paste_past_the_limits(
    browser: Browser, server: ServerProcess, people: dict[str, Any], artifacts: Path
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    page = alice.page
    await draw_rect(alice, 100, 100, 60, 60)
    await page.evaluate(LONG_STROKE_JS)
    [_, stroke] = await server_elements(alice, 2)
    assert len(stroke["p"]) == 6000

    # The selection sheet's Copy, then its Paste at the point the sheet was opened at.
    ox, oy = await alice.canvas_origin()
    await page.mouse.click(ox + 100, oy + 130, button="right")
    await page.click("#sel-copy")
    await page.mouse.click(ox + 700, oy + 300, button="right")
    await page.click("#sel-paste")
    els = await server_elements(alice, 3)
    assert geometry(els[2]) == ("rect", 670, 270, 60, 60)

    # Duplicating the long stroke: more points than one op may carry, sent as add + apps.
    await alice.tool("select")
    await page.mouse.click(ox + 100, oy + 400)
    assert await selection(alice) == [stroke["id"]]
    await page.keyboard.press("Control+d")
    els = await server_elements(alice, 4)
    assert (els[3]["type"], els[3]["x"], els[3]["y"]) == ("stroke", 116, 416)
    assert els[3]["p"] == stroke["p"]

    # 300 more rectangles, then all 304 copied and pasted: more ops than a frame may carry
    # (max_ops_per_frame 256), so the paste goes in several frames, and all of it is stored.
    await page.evaluate(MANY_RECTS_JS)
    await server_elements(alice, 304)
    await page.keyboard.press("Control+a")
    await page.keyboard.press("Control+c")
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 608)
    assert len(await selection(alice)) == 304
    assert not {el["id"] for el in els[304:]} & {el["id"] for el in els[:304]}

    # A paste the board has no room for is refused with a notice, and nothing is sent.
    await page.evaluate("inkroom.editor.sync.limits.max_elements = 700")
    await page.keyboard.press("Control+a")
    await page.keyboard.press("Control+c")
    await page.keyboard.press("Control+v")
    await alice.wait("inkroom.statusText().startsWith('This board is full: pasting 608 elements')")
    await page.screenshot(path=str(artifacts / "clipboard-refused.png"))
    assert "would pass 700 elements" in await page.evaluate("inkroom.statusText()")
    await asyncio.sleep(0.5)
    assert len((await alice.server_state())["elements"]) == 608
    assert await page.evaluate("inkroom.outbox().length") == 0


#: An arrow below two rectangles, then bound to both (an `add` may only bind to an element
#: already there, so the binding comes by `upd`): start on the right middle of `r1`, end on
#: the left middle of `r2`.
BOUND_ARROW_JS = """() => {
  const style = {color: '#1e1e1e', width: 4, opacity: 1, fill: null};
  inkroom.editor.submit([
    {k: 'add', el: {id: 'arrow1', type: 'arrow', x: 300, y: 300, w: 100, h: 0, style}},
    {k: 'add', el: {id: 'r1', type: 'rect', x: 100, y: 100, w: 100, h: 100, style}},
    {k: 'add', el: {id: 'r2', type: 'rect', x: 500, y: 100, w: 100, h: 100, style}},
    {k: 'upd', id: 'arrow1',
     set: {sb: {id: 'r1', fx: 1000, fy: 500}, eb: {id: 'r2', fx: 0, fy: 500}}},
  ]);
}"""


async def test_paste_keeps_bindings_between_pasted_elements_and_drops_the_others(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    page = alice.page
    await page.evaluate(BOUND_ARROW_JS)
    await alice.wait(
        "([id, n]) => fetch(`/api/v1/boards/${id}/state/`).then(r => r.json())"
        ".then(s => s.elements.some(e => e.id === 'arrow1' && e.eb))",
        [alice.board_id, 3],
    )
    [arrow, r1, _] = await server_elements(alice, 3)
    assert (arrow["x"], arrow["y"], arrow["w"], arrow["h"]) == (200, 150, 300, 0)

    # The arrow and its start's rectangle, not its end's: copied, pasted beside (+16/+16).
    await alice.tool("select")
    await alice.drag([(100, 150), (100, 150)])
    await page.keyboard.down("Shift")
    await alice.drag([(350, 150), (350, 150)])
    await page.keyboard.up("Shift")
    assert sorted(await selection(alice)) == ["arrow1", "r1"]
    await page.keyboard.press("Control+c")
    await page.mouse.move(*OFF_CANVAS, steps=4)
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 5)
    new_arrow, new_rect = els[3], els[4]
    assert (new_arrow["type"], new_rect["type"]) == ("arrow", "rect")
    assert new_arrow["id"] not in ("arrow1", "r1") and new_rect["id"] not in ("arrow1", "r1")
    assert new_arrow["sb"] == {"id": new_rect["id"], "fx": 1000, "fy": 500}
    assert "eb" not in new_arrow
    assert (new_rect["x"], new_rect["y"]) == (r1["x"] + 16, r1["y"] + 16)
    # The start follows the new rectangle; the free end kept its place, 16 on.
    assert (new_arrow["x"], new_arrow["y"]) == (216, 166)
    assert (new_arrow["x"] + new_arrow["w"], new_arrow["y"] + new_arrow["h"]) == (516, 166)
    # The originals are as they were.
    assert (await server_elements(alice, 5))[0] == arrow

    # Everything: both ends bound to the copies.
    await page.keyboard.press("Control+a")
    await page.keyboard.press("Control+c")
    await page.keyboard.press("Control+v")
    els = await server_elements(alice, 10)
    copies = {el["id"]: el for el in els[5:]}
    arrows = [el for el in els[5:] if el["type"] == "arrow"]
    bound = [el for el in arrows if "eb" in el]
    assert len(bound) == 1
    assert copies[bound[0]["sb"]["id"]]["type"] == "rect"
    assert copies[bound[0]["eb"]["id"]]["type"] == "rect"


#: Paste a PNG (base64) as a screenshot is pasted: only the file (the images feature's).
PASTE_FILE_JS = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'shot.png', {type: 'image/png'}));
  const init = {clipboardData: data, bubbles: true, cancelable: true};
  document.getElementById('board-canvas').dispatchEvent(new ClipboardEvent('paste', init));
}"""

#: The clipboard's SVG and the colour at the middle of its PNG, once both are there.
CLIPBOARD_PICTURE_JS = """async () => {
  try {
    const [item] = await navigator.clipboard.read();
    if (!item.types.includes('image/svg+xml') || !item.types.includes('image/png')) return null;
    const svg = await (await item.getType('image/svg+xml')).text();
    const png = await createImageBitmap(await item.getType('image/png'));
    const c = new OffscreenCanvas(png.width, png.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(png, 0, 0);
    const d = ctx.getImageData(png.width >> 1, png.height >> 1, 1, 1).data;
    return [svg, [d[0], d[1], d[2]]];
  } catch (e) {
    return null;
  }
}"""


async def test_copied_images_go_to_other_apps_as_pictures(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    alice = await clipboard_client(browser, server, people["board"].id)
    page = alice.page
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (220, 30, 40)).save(out, "PNG")
    await hover(alice, 400, 300)
    await page.evaluate(PASTE_FILE_JS, base64.b64encode(out.getvalue()).decode())
    [image] = await server_elements(alice, 1)
    assert image["type"] == "image"

    await page.keyboard.press("Control+a")
    await page.keyboard.press("Control+c")
    svg, middle = await wait_for(page, CLIPBOARD_PICTURE_JS)
    assert '<image href="data:image/png;base64,' in svg
    assert f'width="{image["w"]}" height="{image["h"]}"' in svg
    assert middle == [220, 30, 40]
