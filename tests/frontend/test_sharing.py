"""
Issue 17, sharing: members added by username, share links with a label, date and expiry, a
board opened through a link listed under "Shared with me", and a dead link said to be dead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone
from playwright.async_api import Browser, Page

from board.models import ShareLink
from tests.frontend.browser import DESKTOP, Client, sign_in, wait_for
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def strangers(make_user: Callable[..., Any]) -> None:
    make_user("dave")
    make_user("erin")


def expire(label: str) -> None:
    try:
        ShareLink.objects.filter(label=label).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    finally:
        # The worker thread's connection would keep the test database from being dropped.
        connections.close_all()


async def new_page(browser: Browser) -> Page:
    return await (await browser.new_context(viewport=DESKTOP)).new_page()


async def shared_titles(page: Page) -> list[str]:
    await wait_for(
        page,
        "document.querySelector('#shared-list li') || "
        "!document.getElementById('shared-empty').hidden",
    )
    return await page.locator("#shared-list li a").all_inner_texts()


async def create_link(owner: Client, *, label: str, role: str, expiry: str) -> str:
    page = owner.page
    await page.fill("#share-label", label)
    await page.select_option("#share-role", role)
    await page.select_option("#share-expiry", label=expiry)
    before = await page.locator("#share-links li").count()
    await page.click("#share-form button[type=submit]")
    await wait_for(page, f"document.querySelectorAll('#share-links li').length > {before}")
    return await page.locator("#share-links li input").first.input_value()  # newest first


@pytest.mark.usefixtures("strangers")
async def test_share_by_username_and_by_link_then_find_it_under_shared_with_me(
    open_board: Callable[..., Any], browser: Browser, server: ServerProcess
) -> None:
    alice: Client = await open_board("alice")
    await alice.page.click("#btn-share")

    # A member by username, with a role; an unknown name is refused with the API's reason.
    await alice.page.fill("#member-username", "nobody-here")
    await alice.page.click("#member-form button[type=submit]")
    await alice.page.locator("#member-error").wait_for()
    assert "No user with this username" in await alice.page.inner_text("#member-error")
    await alice.page.fill("#member-username", "dave")
    await alice.page.select_option("#member-role", "viewer")
    await alice.page.click("#member-form button[type=submit]")
    dave_row = alice.page.locator("#member-list li[data-user=dave]")
    await dave_row.wait_for()
    assert await dave_row.locator("select").input_value() == "viewer"

    # A labelled editor link that expires in 7 days, and an unlabelled one that never does.
    url = await create_link(alice, label="for erin", role="editor", expiry="In 7 days")
    erin_row = alice.page.locator("#share-links li", has_text="for erin")
    summary = await erin_row.inner_text()
    assert "Can edit" in summary and "created" in summary and "expires" in summary
    assert "never expires" not in summary
    forever = await create_link(alice, label="", role="viewer", expiry="Never")
    assert forever != url
    assert (
        "never expires"
        in await alice.page.locator("#share-links li", has_text="Untitled link").inner_text()
    )

    # erin opens the link signed in; the board is hers to find again under "Shared with me".
    erin = await new_page(browser)
    await sign_in(erin, server, "erin", next_path="/")
    assert await shared_titles(erin) == []
    await erin.goto(url)
    await wait_for(erin, "window.inkroom && inkroom.synced()")
    assert await erin.evaluate("inkroom.role()") == "editor"
    await erin.goto(server.http_url("/"))
    assert await shared_titles(erin) == ["Team sketch"]
    assert await erin.locator("#board-list li").count() == 0
    await erin.click("#shared-list li a")
    await wait_for(erin, "window.inkroom && inkroom.synced()")
    assert await erin.evaluate("inkroom.role()") == "editor"

    # dave, added by name, finds it there too.
    dave = await new_page(browser)
    await sign_in(dave, server, "dave", next_path="/")
    assert await shared_titles(dave) == ["Team sketch"]
    assert "viewer · by alice" in await dave.inner_text("#shared-list li")


@pytest.mark.usefixtures("strangers")
async def test_an_expired_link_is_refused_and_leaves_the_list(
    open_board: Callable[..., Any], browser: Browser, server: ServerProcess
) -> None:
    alice: Client = await open_board("alice")
    await alice.page.click("#btn-share")
    url = await create_link(alice, label="one day", role="viewer", expiry="In 1 day")
    erin = await new_page(browser)
    await sign_in(erin, server, "erin", next_path="/")
    await erin.goto(url)
    await wait_for(erin, "window.inkroom && inkroom.synced()")

    await sync_to_async(expire)("one day")  # a day later
    await erin.goto(server.http_url("/"))
    assert await shared_titles(erin) == []
    response = await erin.goto(url)
    assert response is not None and response.status == 410
    assert await erin.locator("h1").inner_text() == "This share link has expired"
    assert "Ask the board's owner for a new one" in await erin.inner_text("main")
    assert await erin.title() == "Share link expired · Inkroom"


@pytest.mark.usefixtures("strangers")
async def test_revoking_a_link_tells_its_user_on_the_board(
    open_board: Callable[..., Any], browser: Browser, server: ServerProcess
) -> None:
    alice: Client = await open_board("alice")
    await alice.page.click("#btn-share")
    url = await create_link(alice, label="for erin", role="editor", expiry="Never")
    erin = await new_page(browser)
    await sign_in(erin, server, "erin", next_path="/")
    await erin.goto(url)
    await wait_for(erin, "window.inkroom && inkroom.synced()")

    await alice.page.click("#share-links li button:has-text('Revoke')")
    await erin.locator("#fatal h2", has_text="This share link was revoked").wait_for()
    assert "Ask them for a new one" in await erin.inner_text("#fatal")
    assert await erin.title() == "This share link was revoked · Inkroom"
