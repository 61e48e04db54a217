"""
Graceful shutdown of a real server: SIGTERM while clients draw.

Every client sees close 1012, every acked op is in the log, the process exits 0 within
INKROOM_DRAIN_SECS, and the clients, reconnecting to a fresh server with their outboxes,
converge on the durable state with nothing lost or stored twice.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from rest_framework.authtoken.models import Token

from board.models import Op
from tests.support import servers
from tests.support.servers import ServerProcess
from tests.support.wsclient import (
    BoardClient,
    assert_durable,
    converge,
    settled_head,
    token_header,
)

pytestmark = servers.REAL_SERVER_MARKS


#: Drain budget given to the server under test (seconds); the test asserts the exit within it.
DRAIN_SECS = 4.0
#: Pause between a drawing client's strokes (seconds): ~3 ops per 15 ms per client.
STROKE_PAUSE_SECS = 0.015


async def draw_until(client: BoardClient, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        await client.draw_stroke(points=5, chunk=2, x=n)
        n += 1
        await asyncio.sleep(STROKE_PAUSE_SECS)


async def sigterm_mid_draw(
    server: ServerProcess, clients: list[BoardClient]
) -> tuple[list[int | None], float, int]:
    """
    Draw on every client, SIGTERM the server, return (close codes, exit secs, exit code).
    """
    for client in clients:
        await client.connect()
    stop = asyncio.Event()
    drawing = [asyncio.create_task(draw_until(c, stop)) for c in clients]
    await asyncio.sleep(0.6)
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    codes = [await c.wait_closed(timeout=DRAIN_SECS + 2) for c in clients]
    exit_code = await asyncio.to_thread(server.wait_exit, DRAIN_SECS + 5)
    exit_secs = time.monotonic() - started
    stop.set()
    await asyncio.gather(*drawing)
    return codes, exit_secs, exit_code


def test_sigterm_closes_1012_keeps_acked_ops_and_exits_in_time(
    start_inkroom: Any, board: Any, user: Any
) -> None:
    first = start_inkroom(INKROOM_DRAIN_SECS=str(DRAIN_SECS))
    headers = token_header(Token.objects.create(user=user).key)
    url = f"/ws/boards/{board.id}/"
    clients = [BoardClient(first.ws_url(url), headers=headers, name=f"c{n}") for n in range(3)]

    codes, exit_secs, exit_code = asyncio.run(sigterm_mid_draw(first, clients))

    print(f"SIGTERM: {len(clients)} sockets closed 1012, process exited in {exit_secs:.2f} s")
    assert codes == [1012] * len(clients), first.log_text()
    assert exit_code == 0, first.log_text()
    assert exit_secs < DRAIN_SECS, f"exit took {exit_secs:.2f} s"
    stored = {
        (c, i): s
        for c, i, s in Op.objects.filter(board=board).values_list(
            "client_id", "client_op_id", "seq"
        )
    }
    acked = {(c.client_id, i): s for c in clients for i, s in c.acked.items()}
    assert acked, "nothing was acked before the shutdown"
    assert {k: stored.get(k) for k in acked} == acked, "an acked op is not durable"

    second = start_inkroom()

    async def resume() -> None:
        for client in clients:
            await client.connect(second.ws_url(url))
        for client in clients:
            await client.wait_acked()
        await converge(clients, settled_head(clients))
        for client in clients:
            await client.close()

    asyncio.run(resume())
    assert_durable(clients, board.id)
