"""
Signing out in another tab closes the board's socket (issue 15, finding 3): the board page
learns it from close code 4001 and goes to the sign-in page, coming back to the board after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.frontend.browser import WAIT_MS, Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def test_signing_out_in_another_tab_sends_the_board_to_the_sign_in_page(
    open_board: Callable[..., Any],
) -> None:
    alice: Client = await open_board("alice")
    board_path = f"/b/{alice.board_id}/"
    other_tab = await alice.context.new_page()
    await other_tab.goto(f"{alice.base}/")
    await other_tab.click("#logout")
    await other_tab.wait_for_url("**/login/")
    await alice.page.wait_for_url(f"**/login/?next={quote(board_path, safe='')}", timeout=WAIT_MS)
