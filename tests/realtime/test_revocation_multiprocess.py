"""
Revoking a credential through one server's API closes its sockets on every server (issue 15,
finding 3): two real server processes share PostgreSQL and Redis, and everything goes through
HTTP and WebSockets as a client would (API token, socket ticket, browser session with CSRF).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import urllib.error
import urllib.request
from typing import Any

import pytest

from realtime.wire.protocol import CloseCode
from tests.support import servers
from tests.support.factories import PASSWORD
from tests.support.servers import ServerProcess
from tests.support.wsclient import BoardClient, token_header

pytestmark = servers.REAL_SERVER_MARKS


class Browser:
    """
    An HTTP client with a cookie jar, speaking to the API like the browser does (CSRF header).
    """

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name and c.value is not None)

    def call(
        self,
        server: ServerProcess,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            server.http_url(path), data=body, method=method, headers=headers or {}
        )
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if method != "GET" and any(c.name == "csrftoken" for c in self.jar):
            request.add_header("X-CSRFToken", self.cookie("csrftoken"))
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def sign_in(self, server: ServerProcess, user: Any) -> str:
        """
        Sign in (session cookie); return the session cookie header for a WebSocket.
        """
        assert self.call(server, "GET", "/api/v1/auth/csrf/")[0] == 204
        body = f'{{"username": "{user.username}", "password": "{PASSWORD}"}}'.encode()
        assert self.call(server, "POST", "/api/v1/auth/login/", body)[0] == 200
        return f"sessionid={self.cookie('sessionid')}"


def api_token(server: ServerProcess, user: Any) -> str:
    body = f'{{"username": "{user.username}", "password": "{PASSWORD}"}}'.encode()
    status, data = Browser().call(server, "POST", "/api/v1/auth/token/", body)
    assert status == 200, data
    return data.decode().split('"token":')[1].strip(' "}')


def socket_ticket(server: ServerProcess, board: Any, token: str) -> str:
    status, data = Browser().call(
        server, "POST", f"/api/v1/boards/{board.id}/socket-ticket/", headers=token_header(token)
    )
    assert status == 200, data
    return data.decode().split('"ticket":')[1].split('"')[1]


def test_revocations_through_one_server_close_the_sockets_on_the_other(
    start_inkroom: Any, board: Any, user: Any
) -> None:
    left, right = start_inkroom(wait=False), start_inkroom(wait=False)
    left.wait_healthy()
    right.wait_healthy()
    path = f"/ws/boards/{board.id}/"
    token = api_token(left, user)
    browser = Browser()
    session = browser.sign_in(left, user)
    by_token = BoardClient(right.ws_url(path), headers=token_header(token), name="token")
    ticket = socket_ticket(left, board, token)
    by_ticket = BoardClient(right.ws_url(f"{path}?token={ticket}"), name="ticket")
    by_session = BoardClient(right.ws_url(path), headers={"Cookie": session}, name="session")

    async def scenario() -> None:
        for client in (by_token, by_ticket, by_session):
            await client.connect()
        status, _ = await asyncio.to_thread(
            Browser().call, left, "DELETE", "/api/v1/auth/token/", None, token_header(token)
        )
        assert status == 204
        assert await by_token.wait_closed() == CloseCode.UNAUTHENTICATED
        assert await by_ticket.wait_closed() == CloseCode.UNAUTHENTICATED
        await by_session.draw_stroke()
        await by_session.wait_acked()  # another credential of the same user: still drawing
        assert (await asyncio.to_thread(browser.call, left, "POST", "/api/v1/auth/logout/"))[
            0
        ] == 204
        assert await by_session.wait_closed() == CloseCode.UNAUTHENTICATED
        # The spent ticket admits nobody, on either server.
        again = BoardClient(left.ws_url(f"{path}?token={ticket}"), name="again")
        with pytest.raises(ConnectionError):
            await again.connect(timeout=5)
        assert again.close_codes == [CloseCode.UNAUTHENTICATED]

    asyncio.run(scenario())
