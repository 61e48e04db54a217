"""
Issue 15 finding 1 through a real server: a PNG export must not freeze the process.

A board holds heavy text (8 elements of 10,000 characters at size 512: ~2.5 s of rasterising);
while one caller downloads its PNG, a bystander on another board measures WebSocket ping RTTs.
When the render ran in the server process it held the GIL throughout and the bystander's ping
took as long as the export (~2.5 s); rendered in the export worker pool, the loop keeps
answering. The bound here is 1 s: well under what a held loop shows, and above the stalls of a
CI box running the browser lane beside this one (scripts/test-lanes.sh);
bench/export_bystander.py measures the 50 ms target.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

from rest_framework.authtoken.models import Token
from websockets.asyncio.client import ClientConnection, connect

from board.oplog import append_ops
from tests.support import servers

pytestmark = servers.REAL_SERVER_MARKS

#: The largest ping RTT the bystander may see while the export runs (seconds).
MAX_PING_SECS = 1.0
#: Heavy text: what the issue measured at ~2.7 s of render.
TEXT_ELEMENTS, TEXT_CHARS, TEXT_SIZE = 8, 10_000, 512
STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}


def heavy_text(n: int) -> dict[str, Any]:
    words = " ".join(f"word{k % 97}" for k in range(TEXT_CHARS // 6))
    return {
        "id": f"t{n}",
        "type": "text",
        "x": 0,
        "y": n * TEXT_SIZE * 2,
        "size": TEXT_SIZE,
        "text": words[:TEXT_CHARS],
        "style": dict(STYLE),
    }


def fetch(url: str, token: str) -> tuple[int, bytes, float]:
    """
    GET `url` with the API token; return (status, body, seconds).
    """
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read(), time.monotonic() - started


async def until_synced(ws: ClientConnection) -> None:
    while True:
        frame = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(frame, str) and json.loads(frame).get("type") == "synced":
            return


async def ping_once(ws: ClientConnection, n: int) -> float:
    """
    Send ping `n` and wait for its pong; return the RTT in seconds.
    """
    started = time.monotonic()
    await ws.send(json.dumps({"type": "ping", "t": n}))
    while True:
        frame = await asyncio.wait_for(ws.recv(), 30)
        if isinstance(frame, str):
            message = json.loads(frame)
            if message.get("type") == "pong" and message.get("t") == n:
                return time.monotonic() - started


async def bystander_during(ws_url: str, token: str, export_url: str) -> dict[str, Any]:
    """
    Ping from a socket on another board while the export downloads; return the figures.
    """
    headers = {"Authorization": f"Token {token}"}
    async with connect(ws_url, additional_headers=headers, proxy=None, compression=None) as ws:
        await until_synced(ws)
        await ping_once(ws, 0)  # warm: the first ping may pay for lazy imports
        export = asyncio.create_task(asyncio.to_thread(fetch, export_url, token))
        rtts: list[float] = []
        n = 1
        while not export.done():
            rtts.append(await ping_once(ws, n))
            n += 1
            await asyncio.sleep(0.01)
        status, body, secs = await export
    return {"status": status, "body": body, "export_secs": secs, "rtts": rtts}


def test_a_png_export_leaves_a_bystanders_socket_responsive(
    start_inkroom: Any, make_board: Any, user: Any
) -> None:
    heavy, other = make_board(user, title="Heavy"), make_board(user, title="Other")
    ops = [{"i": n + 1, "k": "add", "el": heavy_text(n)} for n in range(TEXT_ELEMENTS)]
    append_ops(board_id=heavy.id, author_id=None, client_id="seed-client", ops=ops)
    token = Token.objects.create(user=user).key
    server = start_inkroom()
    # Django imports the URLconf and the API on its first request (~100 ms holding the GIL):
    # a cost of any first request, not of exports.
    fetch(server.http_url(f"/api/v1/boards/{other.id}/state/"), token)

    figures = asyncio.run(
        bystander_during(
            server.ws_url(f"/ws/boards/{other.id}/"),
            token,
            server.http_url(f"/api/v1/boards/{heavy.id}/export/png/"),
        )
    )

    rtts = figures["rtts"]
    print(
        f"export {figures['export_secs']:.2f} s, {len(rtts)} pings, max {max(rtts) * 1000:.0f} ms"
    )
    assert figures["status"] == 200 and figures["body"][:8] == b"\x89PNG\r\n\x1a\n"
    assert max(rtts) < MAX_PING_SECS, f"a bystander's ping took {max(rtts):.2f} s"
