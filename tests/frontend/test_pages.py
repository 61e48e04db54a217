"""
The sign-up, sign-in and board-list pages in a real browser.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Dialog

from tests.frontend.browser import sign_in, wait_for
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def test_sign_up_then_manage_boards(browser: Browser, server: ServerProcess) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(server.http_url("/signup/"))
    await page.fill("#username", "dora")
    await page.fill("#password", "short")
    await page.click("#auth-form button[type=submit]")
    await page.locator("#password-error").wait_for()  # the password validators' message is shown
    await page.fill("#password", "a-much-better-passphrase")
    await page.click("#auth-form button[type=submit]")
    await page.wait_for_url(server.http_url("/"))

    for title in ["Roadmap", "Retro"]:
        await page.goto(server.http_url("/"))
        await page.fill("#new-title", title)
        await page.click("#create-form button[type=submit]")
        await page.wait_for_url("**/b/**")
        await wait_for(page, "window.inkroom && inkroom.synced()")
    await page.goto(server.http_url("/"))
    rows = page.locator("#board-list li")
    await rows.nth(1).wait_for()
    assert sorted(await page.locator("#board-list li a").all_inner_texts()) == ["Retro", "Roadmap"]

    answers: dict[str, Any] = {"prompt": "Retrospective", "confirm": True}

    async def on_dialog(dialog: Dialog) -> None:
        if dialog.type == "prompt":
            await dialog.accept(answers["prompt"])
        else:
            await dialog.accept()

    page.on("dialog", on_dialog)
    await page.click("#board-list li:has-text('Retro') button:has-text('Rename')")
    await page.locator("#board-list li a", has_text="Retrospective").wait_for()

    await page.fill("#search", "road")
    await wait_for(page, "document.querySelectorAll('#board-list li').length === 1")
    assert await page.locator("#board-list li a").inner_text() == "Roadmap"

    await page.click("#board-list li:has-text('Roadmap') button:has-text('Delete')")
    await wait_for(page, "document.querySelectorAll('#board-list li').length === 0")
    await page.fill("#search", "")
    await wait_for(page, "document.querySelectorAll('#board-list li').length === 1")


@pytest.fixture
def erin(make_user: Any) -> Any:
    return make_user("erin")


async def test_pages_need_sign_in(browser: Browser, server: ServerProcess, erin: Any) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(server.http_url("/"))
    assert "/login/" in page.url
    await page.fill("#username", "erin")
    await page.fill("#password", "wrong password")
    await page.click("#auth-form button[type=submit]")
    await page.locator("#auth-error").wait_for()
    await sign_in(page, server, "erin", next_path="/")
    await page.click("#logout")
    await page.wait_for_url("**/login/")
