"""
The direct send path (realtime.direct): our framing is wsproto's, byte for byte, and an Outbox
under a real Hypercorn writes through the transport, in order, with the close frame last.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, TextMessage

from realtime.direct import direct_socket, frame
from realtime.hypercorn_patches import install_hypercorn_patches
from realtime.sender import SENT, Bulk, Outbox

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


@pytest.mark.parametrize("size", SIZES)
def test_frames_match_wsproto(size: int) -> None:
    server = Connection(ConnectionType.SERVER)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert frame(payload) == server.send(BytesMessage(data=payload))
    text = "é" * (size // 2) + "x" * (size % 2)
    assert frame(text) == server.send(TextMessage(data=text))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_outbox_writes_through_hypercorn_in_order_then_closes() -> None:
    """
    Small frames (written at once), a 2 MiB catch-up frame (buffered by the transport, so the
    frames after it queue behind it) and text frames all arrive in push order, then 4008.
    """
    install_hypercorn_patches()
    big = Bulk(b"\xab" * (2 * 1024 * 1024))
    frames: list[bytes | str] = [b"one", "two", big, b"four", "five" * 1000, b""]
    used_direct: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        used_direct.append(direct_socket(send) is not None)
        outbox = Outbox(send, max_frames=100, max_bytes=1 << 20)
        for item in frames:
            outbox.push(item)
        outbox.close(4008)
        await outbox.wait_closed(5)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    config = Config()
    port = _free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.websocket_max_message_size = 4 * 1024 * 1024
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        received: list[bytes | str] = []
        sent_before = SENT.frames
        for _ in range(50):
            with contextlib.suppress(OSError):
                async with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
                    with contextlib.suppress(ConnectionClosed):
                        async for message in ws:
                            received.append(message)
                    close_code = ws.close_code
                break
            await asyncio.sleep(0.05)
        assert used_direct == [True]
        assert received == [bytes(item) if isinstance(item, bytes) else item for item in frames]
        assert close_code == 4008
        assert SENT.frames - sent_before == len(frames)
    finally:
        stop.set()
        await asyncio.wait_for(server, 5)


async def test_no_direct_path_outside_hypercorn() -> None:
    async def send(message: dict[str, Any]) -> None:
        pass

    assert direct_socket(send) is None
