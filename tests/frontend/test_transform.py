"""
Transform handles and snapping in a real browser, checked against the server's /state/:
resizing a rectangle by a handle (Shift keeps its aspect, one drag is one undo step, another
user watches it live), rotating a stroke (and hitting it where it is drawn), a resize racing
another user's move of the same element, Shift drawing a line at 15°, and a moved shape
snapping to another's edge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.browser import Client
from tests.frontend.test_board import converge

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The rotation handle's distance above the frame's top edge at zoom 1 (handles.ts ROT_OFFSET_PX).
ROT_OFFSET = 24

FIND = "id => inkroom.state().elements.find(e => e.id === id)"


async def drag(
    client: Client, points: Sequence[tuple[float, float]], keys: Sequence[str] = ()
) -> None:
    """
    Press at the first point, move through the rest, release, with `keys` held throughout.
    """
    for key in keys:
        await client.page.keyboard.down(key)
    await client.drag(list(points))
    for key in reversed(keys):
        await client.page.keyboard.up(key)


async def server_element(client: Client, el_id: str) -> dict[str, Any]:
    head = await client.server_state()
    return next(el for el in head["elements"] if el["id"] == el_id)


async def draw_rect(client: Client, x: float, y: float, w: float, h: float) -> str:
    await client.tool("rect")
    await client.drag([(x, y), (x + w / 2, y + h / 2), (x + w, y + h)])
    await client.wait("n => inkroom.state().elements.length === n", len(await client.ids()))
    return (await client.ids())[-1]


def stroke_points(el: dict[str, Any]) -> list[tuple[float, float]]:
    x, y, out = el["x"], el["y"], []
    p = el["p"]
    for k in range(0, len(p), 2):
        x += p[k]
        y += p[k + 1]
        out.append((x, y))
    return out


async def test_resize_by_handle_live_one_undo_step_and_shift_keeps_aspect(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    rect = await draw_rect(alice, 100, 100, 100, 50)
    await alice.tool("select")
    await drag(alice, [(100, 125), (100, 125)])  # click its left edge: selected, handles shown

    # Drag the bottom-right handle; bob sees the rectangle grow before the button is released.
    ox, oy = await alice.canvas_origin()
    mouse = alice.page.mouse
    await mouse.move(ox + 200, oy + 150)
    # The handle under the pointer shows the way it resizes (the canvas's own is a crosshair).
    cursor = "document.getElementById('board-canvas').style.cursor"
    assert await alice.page.evaluate(cursor) == "nwse-resize"
    await mouse.down()
    await mouse.move(ox + 230, oy + 170, steps=4)
    await bob.wait(f"id => ({FIND})(id)?.w === 130", rect)
    await mouse.move(ox + 260, oy + 190, steps=4)
    await alice.page.screenshot(path=str(artifacts / "transform-resize.png"))
    await mouse.up()
    await bob.wait(f"id => ({FIND})(id)?.w === 160", rect)
    await converge(alice, bob)
    assert {k: (await server_element(alice, rect))[k] for k in "xywh"} == {
        "x": 100,
        "y": 100,
        "w": 160,
        "h": 90,
    }

    # The whole drag was one undo step: one Ctrl+Z restores the original box exactly.
    await alice.page.keyboard.press("Control+z")
    await converge(alice, bob)
    assert {k: (await server_element(alice, rect))[k] for k in "xywh"} == {
        "x": 100,
        "y": 100,
        "w": 100,
        "h": 50,
    }
    await alice.page.keyboard.press("Control+Shift+z")
    await bob.wait(f"id => ({FIND})(id)?.w === 160", rect)

    # Shift: the corner keeps the box's aspect (160 x 90) wherever the pointer goes.
    await drag(alice, [(260, 190), (300, 200), (340, 205)], keys=["Shift"])
    await converge(alice, bob)
    el = await server_element(alice, rect)
    assert (el["x"], el["y"]) == (100, 100)
    assert el["w"] == 240
    assert abs(el["w"] / el["h"] - 160 / 90) < 0.02


async def test_rotate_a_stroke_with_shift_and_hit_it_where_it_is_drawn(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    await alice.stroke(200, 300)
    await alice.wait("inkroom.outbox().length === 0")  # every point confirmed
    (stroke,) = (await alice.state())["elements"]
    pts = stroke_points(stroke)
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2

    await alice.tool("select")
    await drag(alice, [pts[4], pts[4]])
    # From the rotation handle above the top edge round to the right of the centre: a quarter
    # turn clockwise; Shift lands it on exactly 90.
    handle = (cx, min(ys) - ROT_OFFSET)
    await drag(alice, [handle, (cx + 60, cy - 40), (cx + 100, cy + 3)], keys=["Shift"])
    await alice.wait(f"id => ({FIND})(id)?.rot === 90", stroke["id"])
    el = await server_element(alice, stroke["id"])
    assert el["rot"] == 90 and (el["x"], el["y"], el["p"]) == (
        stroke["x"],
        stroke["y"],
        stroke["p"],
    )
    await alice.page.screenshot(path=str(artifacts / "transform-rotate.png"))

    # The stroke is hit where it is drawn now: a point turned a quarter about the centre.
    await drag(alice, [(600, 600), (600, 600)])  # click on nothing: selection cleared
    px, py = pts[12]
    turned = (cx - (py - cy), cy + (px - cx))
    await drag(alice, [turned, turned])
    await alice.page.keyboard.press("Delete")
    await alice.wait("inkroom.state().elements.length === 0")


async def test_resize_racing_a_move_of_the_same_rect_converges(
    open_board: Callable[..., Any],
) -> None:
    alice: Client = await open_board("alice")
    bob: Client = await open_board("bob")
    rect = await draw_rect(alice, 100, 100, 100, 50)
    await bob.wait("inkroom.state().elements.length === 1")
    for client in (alice, bob):
        await client.tool("select")
        await drag(client, [(100, 125), (100, 125)])

    # alice holds the right-hand handle and widens it while bob drags the rectangle away.
    ox, oy = await alice.canvas_origin()
    await alice.page.mouse.move(ox + 200, oy + 125)
    await alice.page.mouse.down()
    await alice.page.mouse.move(ox + 240, oy + 125, steps=3)
    await drag(bob, [(150, 110), (250, 300), (350, 410)])
    await alice.page.mouse.move(ox + 280, oy + 125, steps=3)
    await alice.page.mouse.up()

    head = await converge(alice, bob)
    assert (await alice.state())["elements"] == (await bob.state())["elements"] == head["elements"]
    (el,) = head["elements"]
    assert el["id"] == rect and el["h"] == 50


async def test_shift_draws_and_drags_lines_at_15_degree_steps(
    open_board: Callable[..., Any],
) -> None:
    alice: Client = await open_board("alice")
    await alice.tool("line")
    await drag(alice, [(100, 100), (200, 140), (300, 160)], keys=["Shift"])
    await alice.wait("inkroom.state().elements.length === 1")
    (line,) = (await alice.server_state())["elements"]
    angle = math.degrees(math.atan2(line["h"], line["w"]))
    assert abs(angle - 15) < 0.5 and (line["x"], line["y"]) == (100, 100)

    # Dragging its end with Shift: 60° from the start.
    await alice.tool("select")
    end = (line["x"] + line["w"], line["y"] + line["h"])
    await drag(alice, [(150, 100 + 50 * math.tan(math.radians(15))), (150, 113)])
    await drag(alice, [end, (200, 250), (250, 330)], keys=["Shift"])
    await alice.wait(f"id => ({FIND})(id)?.h > 150", line["id"])
    el = await server_element(alice, line["id"])
    assert (el["x"], el["y"]) == (100, 100)
    assert abs(math.degrees(math.atan2(el["h"], el["w"])) - 60) < 0.5


async def test_a_moved_shape_snaps_to_another_with_a_guide_and_ctrl_turns_it_off(
    open_board: Callable[..., Any], artifacts: Path
) -> None:
    alice: Client = await open_board("alice")
    first = await draw_rect(alice, 100, 100, 100, 60)
    second = await draw_rect(alice, 400, 300, 80, 80)
    await alice.tool("select")

    # Move the second so its left edge passes 3 px right of the first's: it lands on 100.
    ox, oy = await alice.canvas_origin()
    mouse = alice.page.mouse
    await mouse.move(ox + 440, oy + 340)
    await mouse.down()
    await mouse.move(ox + 300, oy + 330, steps=3)
    await mouse.move(ox + 143, oy + 320, steps=3)
    await alice.page.screenshot(path=str(artifacts / "transform-snap-guide.png"))
    guide = await alice.page.evaluate(
        """([x, y]) => {
          const c = document.getElementById('board-live');
          const dpr = window.devicePixelRatio || 1;
          const [sx, sy] = inkroom.toScreen(x, y);
          const at = (v) => Math.round(v * dpr);
          const d = c.getContext('2d').getImageData(at(sx), at(sy), 1, 1).data;
          return [d[0], d[1], d[2], d[3]];
        }""",
        [100, 230],
    )
    await mouse.up()
    await alice.wait(f"id => ({FIND})(id)?.x === 100", second)
    el = await server_element(alice, second)
    assert (el["x"], el["y"]) == (100, 280)
    # The orange guide ran down x = 100 between the two shapes while dragging.
    assert guide[3] > 0 and guide[0] > 150 and guide[2] < 100, guide

    # With Ctrl held the same kind of near miss stays a near miss.
    await drag(alice, [(140, 320), (143, 322)], keys=["Control"])
    await alice.wait(f"id => ({FIND})(id)?.x === 103", second)
    assert (await server_element(alice, first))["x"] == 100
