"""
Browser-test fixtures: a live `python -m realtime.server.serve`, headless Debian Chromium, users and
a board, and `open_board`, which signs a user in and opens the board (the helpers the tests
import are in tests/frontend/browser.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    ViewportSize,
    async_playwright,
)
from pytest_asyncio import is_async_test

from board.models import Board, Membership, Role
from tests.frontend.browser import DESKTOP, Client, add_session
from tests.support.servers import ServerProcess, server_env_for, start_server

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"


def _bundle_is_stale() -> bool:
    bundle = REPO / "frontend" / "static" / "frontend" / "dist" / "main.js"
    if not bundle.exists():
        return True
    built = bundle.stat().st_mtime
    sources = [*(REPO / "frontend" / "src").rglob("*.ts"), REPO / "frontend" / "package-lock.json"]
    return any(path.stat().st_mtime > built for path in sources)


@pytest.fixture(scope="session")
def frontend_bundle() -> Path:
    """
    Build the bundle when it is missing or older than its sources (`make test` builds it first).
    """
    if _bundle_is_stale():
        subprocess.run(["make", "-s", "-C", str(REPO / "frontend"), "build"], check=True)
    return REPO / "frontend" / "static" / "frontend" / "dist" / "main.js"


@pytest.fixture(scope="session", autouse=True)
def flush_retries_a_deadlock() -> Iterator[None]:
    """
    Retry the between-tests flush when PostgreSQL aborts it as a deadlock.

    The shared server may still be writing for the test that just ended (a commit, a snapshot)
    while the flush's TRUNCATE takes every table: PostgreSQL then aborts one side, and when that
    is the flush, the next test would start on the last one's rows.
    """
    from django.core.management.base import CommandError
    from django.core.management.commands import flush
    from django.db.utils import OperationalError

    original = flush.Command.handle

    def handle(self: Any, *args: Any, **options: Any) -> Any:
        for attempt in range(3):
            try:
                return original(self, *args, **options)
            except CommandError as exc:
                cause = exc.__cause__
                if attempt == 2 or not (
                    isinstance(cause, OperationalError) and "deadlock" in str(cause)
                ):
                    raise
        return None

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def shared_server(
    django_db_setup: Any,
    frontend_bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """
    One live server for the browser tests, on the test database (tests commit their data).

    Shared because starting one costs 3-8 s on a loaded 2-core box; boards and users are new in
    every test, and the tables are flushed between tests, so nothing leaks from one to the next.
    """
    from django.db import connection

    env = server_env_for(connection.settings_dict)
    instance = start_server(env=env, log_dir=tmp_path_factory.mktemp("frontend-servers"))
    yield instance
    instance.stop(timeout=5)


@pytest.fixture
def server(
    shared_server: ServerProcess, transactional_db: Any, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """
    The shared server; its log lines from this test are printed if the test fails.
    """
    failed_before = request.session.testsfailed
    offset = len(shared_server.log_text())
    yield shared_server
    if request.session.testsfailed > failed_before:
        log = shared_server.log_text()[offset:]
        sys.stderr.write(f"\n----- server :{shared_server.port} log -----\n{log}\n")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_browser() -> AsyncIterator[Browser]:
    """
    One Chromium for the whole run: launching it costs 1-2 s, and every test gets fresh contexts
    (its own cookies, storage and pages), which `browser` closes after the test.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """
    The shared Chromium, with no context left over from an earlier test.
    """
    if not shared_browser.is_connected():
        pytest.fail("the shared Chromium is gone (crashed or closed by an earlier test)")
    yield shared_browser
    for context in list(shared_browser.contexts):
        await context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """
    The browser tests share one event loop, the one the shared Chromium's driver runs on.
    """
    here = Path(__file__).parent
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and here in Path(str(item.path)).parents:
            item.add_marker(session_loop, append=False)


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    """
    alice owns the board, bob edits it, carol views it.
    """
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    board = Board.objects.create(owner=alice, title="Team sketch")
    Membership.objects.create(board=board, user=alice, role=Role.OWNER)
    Membership.objects.create(board=board, user=bob, role=Role.EDITOR)
    Membership.objects.create(board=board, user=carol, role=Role.VIEWER)
    return {"alice": alice, "bob": bob, "carol": carol, "board": board}


@pytest.fixture
def open_board(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> Callable[..., Any]:
    """
    Open the board as `username`, signed in, in a fresh context.
    """

    async def open_as(
        username: str,
        *,
        viewport: ViewportSize | None = None,
        on: ServerProcess | None = None,
        touch: bool = False,
        mobile: bool = False,
    ) -> Client:
        target = on or server
        # A phone: touch, a mobile viewport (meta viewport honoured) and 3 device pixels per px.
        phone: dict[str, Any] = {"is_mobile": True, "device_scale_factor": 3} if mobile else {}
        context = await browser.new_context(
            viewport=viewport or DESKTOP, accept_downloads=True, has_touch=touch, **phone
        )
        await add_session(context, target, username)
        page = await context.new_page()
        board_id = people["board"].id
        await page.goto(target.http_url(f"/b/{board_id}/"))
        client = Client(context, page, target.http_url(""), board_id)
        await client.wait_synced()
        return client

    return open_as


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
