"""
Helpers of the browser tests: viewport sizes, polling the page's state, signing in through the
login form, and `Client`, one signed-in browser context on a board page with typed access to
window.inkroom and its rendered pixels. The fixtures (server, browser, people, open_board) are in
tests/frontend/conftest.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import sync_to_async
from playwright.async_api import BrowserContext, Error, Page, ViewportSize
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.support.factories import PASSWORD
from tests.support.servers import ServerProcess

#: The issue's two target sizes: a 1280x720 laptop and a phone.
DESKTOP: ViewportSize = {"width": 1280, "height": 720}
PHONE: ViewportSize = {"width": 390, "height": 844}
#: Default wait for client-side conditions (ms): sync over loopback takes tens of ms; the slack
#: is for a loaded 2-core CI box and the reconnect backoff.
WAIT_MS = 15_000
#: How often wait_for() evaluates its condition (seconds).
POLL_SECS = 0.02

# Counts dark pixels (any channel < 100) in a square of radius r (CSS px) around a world point.
DARK_PIXELS_JS = """([wx, wy, r]) => {
  const c = document.getElementById('board-canvas');
  const ctx = c.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  const [sx, sy] = window.inkroom.toScreen(wx, wy);
  const img = ctx.getImageData(Math.round((sx - r) * dpr), Math.round((sy - r) * dpr),
                               Math.round(2 * r * dpr), Math.round(2 * r * dpr));
  let n = 0;
  for (let k = 0; k < img.data.length; k += 4) {
    if (img.data[k] < 100 && img.data[k + 1] < 100 && img.data[k + 2] < 100) n++;
  }
  return n;
}"""


async def wait_for(page: Page, js: str, arg: Any = None, timeout: int = WAIT_MS) -> Any:
    """
    Wait until `js` (an expression, or a function of `arg`) is truthy in the page; return it.

    Playwright's page.wait_for_function compiles its predicate with eval inside the page, which
    the pages' Content-Security-Policy refuses (no 'unsafe-eval', config/security.py). This
    polls with page.evaluate instead, which runs through the DevTools protocol, outside the
    policy, so the browser tests run with the policy in force. A navigation while polling (its
    context destroyed) just means: evaluate again in the new page.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = await page.evaluate(js, arg)
        except Error as error:
            if "context was destroyed" not in error.message and "navigat" not in error.message:
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise PlaywrightTimeoutError(f"wait_for: {js[:120]!r} not true after {timeout} ms")
        await asyncio.sleep(POLL_SECS)


class Client:
    """
    One signed-in browser context on the board page, with typed access to window.inkroom.
    """

    def __init__(self, context: BrowserContext, page: Page, base: str, board_id: str) -> None:
        self.context, self.page, self.base, self.board_id = context, page, base, board_id

    async def state(self) -> dict[str, Any]:
        return await self.page.evaluate("inkroom.state()")

    async def view(self) -> dict[str, Any]:
        return await self.page.evaluate("inkroom.view()")

    async def outbox(self) -> list[dict[str, Any]]:
        return await self.page.evaluate("inkroom.outbox()")

    async def ids(self) -> list[str]:
        return [el["id"] for el in (await self.view())["elements"]]

    async def wait(self, js: str, arg: Any = None, timeout: int = WAIT_MS) -> None:
        await wait_for(self.page, js, arg=arg, timeout=timeout)

    async def wait_synced(self) -> None:
        await self.wait("window.inkroom && inkroom.synced()")

    async def server_state(self, seq: int | None = None) -> dict[str, Any]:
        query = "" if seq is None else f"?seq={seq}"
        url = f"/api/v1/boards/{self.board_id}/state/{query}"
        status, body = await self.page.evaluate(
            "url => fetch(url).then(async r => [r.status, await r.json()])", url
        )
        assert status == 200, f"GET {url} -> {status}: {body}"
        return body

    async def dark_pixels(self, x: float, y: float, radius: float = 6) -> int:
        return await self.page.evaluate(DARK_PIXELS_JS, [x, y, radius])

    async def wait_drawn(self, x: float, y: float, minimum: int, radius: float = 6) -> int:
        """
        Wait until the canvas shows at least `minimum` dark pixels near world (x, y).
        """
        await wait_for(
            self.page, f"args => ({DARK_PIXELS_JS})(args) >= {int(minimum)}", arg=[x, y, radius]
        )
        return await self.dark_pixels(x, y, radius)

    async def canvas_origin(self) -> tuple[float, float]:
        box = await self.page.locator("#board-canvas").bounding_box()
        assert box is not None
        return box["x"], box["y"]

    async def tool(self, name: str) -> None:
        await self.page.click(f"[data-tool={name}]")

    async def drag(self, points: list[tuple[float, float]]) -> None:
        """
        Press, move through `points` (world = canvas coordinates at the default camera), release.
        """
        ox, oy = await self.canvas_origin()
        mouse = self.page.mouse
        await mouse.move(ox + points[0][0], oy + points[0][1])
        await mouse.down()
        for x, y in points[1:]:
            await mouse.move(ox + x, oy + y, steps=2)
        await mouse.up()

    async def stroke(self, x: float, y: float, length: float = 160) -> list[tuple[float, float]]:
        points = [(x + k * length / 16, y + (k % 4) * 5) for k in range(17)]
        await self.tool("pen")
        await self.drag(points)
        return points


async def add_session(context: BrowserContext, server: ServerProcess, username: str) -> None:
    """
    Give `context` a signed-in session of `username`, made in the database as a sign-in would
    make it; tests of the sign-in page itself use `sign_in`.
    """

    def session_key() -> str:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connections
        from django.test import Client as DjangoClient

        try:
            client = DjangoClient()
            client.force_login(get_user_model().objects.get(username=username))
            return client.cookies[settings.SESSION_COOKIE_NAME].value
        finally:
            # sync_to_async's worker thread keeps its own connection, which would stop pytest
            # from dropping the test database at the end.
            connections.close_all()

    from django.conf import settings

    key = await sync_to_async(session_key)()
    cookie: Any = {"name": settings.SESSION_COOKIE_NAME, "value": key, "url": server.http_url("/")}
    await context.add_cookies([cookie])


async def sign_in(page: Page, server: ServerProcess, username: str, *, next_path: str) -> None:
    """
    Sign in through the login form and wait for the redirect to `next_path`.
    """
    await page.goto(server.http_url(f"/login/?next={next_path}"))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#auth-form button[type=submit]")
    await page.wait_for_url(server.http_url(next_path))
