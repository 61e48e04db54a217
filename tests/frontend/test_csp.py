"""
The Content-Security-Policy in a real browser (issue 15, finding 9): signing in, the board list
and drawing on a board with a second person present raise no violation, while an injected inline
script is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.frontend.browser import DESKTOP, Client, sign_in
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Collects every violation the page reports, from before its first script runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sample})`);
});
"""


async def test_the_app_runs_under_the_policy(
    browser: Browser,
    server: ServerProcess,
    people: dict[str, Any],
    open_board: Callable[..., Any],
) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    login = await page.goto(server.http_url("/login/?next=/"))
    assert login is not None and "script-src 'self'" in login.headers["content-security-policy"]
    await sign_in(page, server, "alice", next_path="/")
    await page.locator("#board-list li").first.wait_for()
    assert await page.evaluate("window.__csp") == []

    board_id = people["board"].id
    await page.goto(server.http_url(f"/b/{board_id}/"))
    alice = Client(context, page, server.http_url(""), board_id)
    await alice.wait_synced()
    bob = await open_board("bob")  # a second person: the presence list shows both
    await alice.wait("document.querySelectorAll('#presence li').length === 2")
    await alice.stroke(100, 120)
    await bob.wait("inkroom.view().elements.length === 1")
    await alice.page.click("#btn-share")
    await alice.page.locator("#dlg-share[open]").wait_for()
    assert await page.evaluate("window.__csp") == []
    # The presence chips keep their colours (style attributes are allowed; see config/security.py).
    chip = page.locator("#presence li button").first
    assert await chip.evaluate("b => getComputedStyle(b).backgroundColor") != "rgba(0, 0, 0, 0)"

    # What the policy is for: a script injected into the page does not run.
    ran = await page.evaluate(
        """() => new Promise((done) => {
             window.__injected = false;
             const s = document.createElement('script');
             s.textContent = 'window.__injected = true';
             document.body.append(s);
             setTimeout(() => done(window.__injected), 100);
           })"""
    )
    assert ran is False
    assert any(
        v.startswith("script-src-elem blocked inline") for v in await page.evaluate("window.__csp")
    )
    await context.close()
    await bob.context.close()
