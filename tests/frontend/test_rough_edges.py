"""
Issue 17's rough edges in a real browser: sign-up field errors, the camera kept per board and
fitted on first open, reconnecting at once, error pages, and keyboard access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.frontend.conftest import wait_for
from tests.realtime.servers import ServerProcess

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
