"""
The sign-in throttle is shared by every process (issue 15, finding 4): two real servers on one
Redis count a username's wrong passwords together, so a guesser gains nothing by spreading
guesses over pods.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.contrib.auth import get_user_model

from tests.support import servers
from tests.support.factories import PASSWORD
from tests.support.servers import ServerProcess

pytestmark = servers.REAL_SERVER_MARKS


def token(server: ServerProcess, password: str) -> tuple[int, dict[str, str]]:
    body = json.dumps({"username": "alice", "password": password}).encode()
    request = urllib.request.Request(
        server.http_url("/api/v1/auth/token/"),
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_two_servers_share_the_count(start_inkroom: Any) -> None:
    get_user_model().objects.create_user("alice", password=PASSWORD)
    # A day's window: the test cannot straddle two of them, as it could a minute's.
    limits = {"INKROOM_LOGIN_RATE_USERNAME": "3/day", "INKROOM_LOGIN_RATE_IP": "1000/min"}
    left, right = start_inkroom(wait=False, **limits), start_inkroom(wait=False, **limits)
    left.wait_healthy()
    right.wait_healthy()

    assert [token(server, "wrong")[0] for server in (left, right, left)] == [401, 401, 401]
    status, headers = token(right, "wrong")
    assert status == 429 and int(headers["Retry-After"]) > 0
    # Neither server lets the right password through while the window lasts.
    assert token(left, PASSWORD)[0] == 429
    assert token(right, PASSWORD)[0] == 429
