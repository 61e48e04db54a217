"""
Issue 14 on a real server (`python -m realtime.server.serve`, real UTF-8 WebSocket framing): a text
frame whose JSON spells a lone surrogate gets `bad_message` and the socket stays open.

Before, a ping's `t` came back in a pong that the transport could not encode (close 1011), and a
presence name crashed the encoding of presence frames in the process-wide tick. In-process tests
(WebsocketCommunicator) cannot show either: no transport encodes their text frames.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgpack
import pytest
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import ClientConnection, connect

from tests.support import servers
from tests.support.ops import stroke

pytestmark = servers.REAL_SERVER_MARKS

#: Seconds a frame may take before the test calls the server silent.
WAIT_SECS = 5.0


@pytest.fixture
def sockets(make_board: Any, user: Any) -> tuple[list[str], dict[str, str]]:
    """
    The socket paths of two boards of one owner and the owner's Authorization header.
    """
    paths = [f"/ws/boards/{make_board(user, title=t).id}/?v=1" for t in ("Mine", "Other")]
    return paths, {"Authorization": f"Token {Token.objects.create(user=user).key}"}


async def _text(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """
    The next text frame of type `kind`, skipping everything else.
    """
    while True:
        frame = await asyncio.wait_for(ws.recv(), WAIT_SECS)
        if isinstance(frame, str) and (message := json.loads(frame))["type"] == kind:
            return dict(message)


async def _acked(ws: ClientConnection, client_id: str, i: int) -> None:
    """
    Read until our op `i` comes back in an `ops` frame (its ack, protocol §2.2).
    """
    while True:
        frame = await asyncio.wait_for(ws.recv(), WAIT_SECS)
        if isinstance(frame, bytes):
            message = msgpack.unpackb(frame)
            entries = message.get("ops", []) if message.get("t") == "ops" else []
            if any(e["c"] == client_id and e["i"] == i for e in entries):
                return


async def test_lone_surrogates_in_text_frames_get_bad_message_and_the_process_keeps_drawing(
    start_inkroom: Any, sockets: tuple[list[str], dict[str, str]]
) -> None:
    (mine, other), headers = sockets
    server = await asyncio.to_thread(start_inkroom)
    async with (
        connect(server.ws_url(mine), additional_headers=headers, proxy=None) as ws,
        connect(server.ws_url(other), additional_headers=headers, proxy=None) as drawer,
    ):
        await _text(ws, "synced")
        drawer_id = (await _text(drawer, "hello"))["client_id"]
        await _text(drawer, "synced")
        # What JSON.stringify("\ud800") sends: the escape, in a well-formed UTF-8 frame.
        for frame in (
            '{"type":"presence","name":"\\ud800","color":"#000000"}',
            '{"type":"ping","t":"\\ud800"}',
        ):
            await ws.send(frame)
            error = await _text(ws, "error")
            assert error["code"] == "bad_message", error
        await ws.send('{"type":"ping","t":"still-there"}')
        assert (await _text(ws, "pong"))["t"] == "still-there"
        # Past a tick or two: the other board's ops are still sequenced and acknowledged.
        await asyncio.sleep(0.2)
        await drawer.send(msgpack.packb({"t": "ops", "ops": [stroke(1, "s1")]}))
        await _acked(drawer, drawer_id, 1)
    assert "Traceback" not in server.log_text()
