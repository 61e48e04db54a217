"""
Bounded kernel send buffers (realtime.server.listen): a reader that stalls is closed with 4008.

Without SO_SNDBUF the kernel autotunes a loopback socket's send buffer to 4 MiB and absorbs all
of this test's traffic, so the stalled socket is never closed; with it, the stall reaches the
socket's outbox within ~100 KiB and the hub closes it, while the drawer keeps getting everything.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from realtime.server.listen import bound_send_buffers
from tests.support import servers
from tests.support.wsclient import BoardClient, token_header

pytestmark = servers.REAL_SERVER_MARKS


#: Small bounds so the stall shows within ~150 KiB of ops instead of the production ~1 MiB.
SERVER_BOUNDS = {
    "INKROOM_SOCKET_SNDBUF": "8192",
    "INKROOM_SEND_QUEUE_FRAMES": "16",
    "INKROOM_SEND_QUEUE_BYTES": "32768",
}
#: The stalled client's receive buffer (bytes): tiny, as a phone on a dead link would look.
STALLED_RCVBUF_BYTES = 4096
#: Points per `app` op (~1 KB frames) and ops per stroke (under max_points_per_stroke).
POINTS_PER_OP, OPS_PER_STROKE, STROKES = 500, 80, 2


def test_bound_send_buffers_sets_sndbuf() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        bound_send_buffers([listener], 16384)
        # Linux doubles the value for its bookkeeping and turns autotuning off for the socket.
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * 16384
    finally:
        listener.close()


async def _stalled_socket(url: str, headers: dict[str, str]) -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    # max_queue=1: websockets stops reading the transport once one message is unread.
    return await connect(
        f"{url}?v=1&since=0", sock=sock, additional_headers=headers, max_queue=1, compression=None
    )


async def _close_code(ws: Any) -> int | None:
    """
    Read what the server managed to send (the backlog, then the close frame); its close code.
    """
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def test_stalled_reader_is_closed_with_4008(start_inkroom: Any, board: Any, user: Any) -> None:
    server = start_inkroom(**SERVER_BOUNDS)
    headers = token_header(Token.objects.create(user=user).key)
    url = server.ws_url(f"/ws/boards/{board.id}/")

    async def run() -> tuple[int | None, BoardClient]:
        stalled = await _stalled_socket(url, headers)
        drawer = BoardClient(url, headers=headers, name="drawer")
        await drawer.connect()
        for n in range(STROKES):
            el_id = await drawer.draw_stroke(points=1, x=n * 100)
            for _ in range(OPS_PER_STROKE):
                await drawer.send_ops([{"k": "app", "id": el_id, "p": [1, 1] * POINTS_PER_OP}])
                await asyncio.sleep(0.005)  # spread over ticks: many frames, not one big one
        await drawer.wait_acked(timeout=20)
        await drawer.wait_seq(max(drawer.acked.values()), timeout=20)
        code = await _close_code(stalled)
        await drawer.close()
        return code, drawer

    code, drawer = asyncio.run(run())
    assert code == 4008
    assert len(drawer.acked) == STROKES * (OPS_PER_STROKE + 1)  # the room kept its pace
    assert drawer.close_codes == [] or set(drawer.close_codes) <= {1000, None}
    assert "closing slow socket" in server.log_text()


def test_a_reader_that_stops_is_closed_before_small_frames_fill_any_buffer(
    start_inkroom: Any, board: Any, user: Any
) -> None:
    """
    Production bounds (64 KiB send buffer, 1 MiB queue) and a board's normal pace of small
    frames: the buffers would take minutes to fill, but the stopped reader acknowledges
    nothing, and that is what closes it (about SEND_STALL_SECS after its window shut).
    """
    server = start_inkroom()
    headers = token_header(Token.objects.create(user=user).key)
    url = server.ws_url(f"/ws/boards/{board.id}/")

    async def run() -> tuple[int | None, BoardClient, float]:
        stalled = await _stalled_socket(url, headers)
        drawer = BoardClient(url, headers=headers, name="drawer", version=2)
        await drawer.connect()
        loop = asyncio.get_running_loop()
        started = checked = loop.time()
        el_id = await drawer.draw_stroke(points=1)
        # 30 Hz appends of 4 points for up to 15 s: ~60 bytes a frame to the stalled reader,
        # which reads nothing until the server says it closed it.
        while loop.time() - started < 15:
            await drawer.send_ops([{"k": "app", "id": el_id, "p": [1, 1] * 4}])
            await asyncio.sleep(1 / 30)
            if loop.time() - checked > 0.5:
                checked = loop.time()
                if "nothing acknowledged" in await asyncio.to_thread(server.log_text):
                    break
        elapsed = loop.time() - started
        code = await _close_code(stalled)
        await drawer.wait_acked(timeout=10)
        await drawer.close()
        return code, drawer, elapsed

    code, drawer, elapsed = asyncio.run(run())
    assert code == 4008
    assert elapsed < 12, elapsed
    assert drawer.close_codes == [] or set(drawer.close_codes) <= {1000, None}
    assert "nothing acknowledged" in server.log_text()
