"""
The hub's drain (realtime.engine.hub.Hub.drain): what was pending is committed, what arrives later
is not read, so the final flush never chases new ops (protocol §7, 1012).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from realtime.engine.drain import PROCESS_DRAIN
from realtime.engine.hub import get_hub
from realtime.wire.protocol import CloseCode
from tests.support.ops import stroke
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

#: How long PostgreSQL holds each insert into the op log: a commit slow enough for frames to
#: arrive while the drain's flush waits for it (seconds).
SLOW_INSERT_SECS = 0.4


def slow_op_inserts(slow: bool) -> None:
    """
    Make PostgreSQL itself slow down every insert into the op log (a real delay, not a mock).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if slow:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION inkroom_slow() RETURNS trigger AS $$ "
                f"BEGIN PERFORM pg_sleep({SLOW_INSERT_SECS}); RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER inkroom_slow BEFORE INSERT ON board_op "
                "FOR EACH STATEMENT EXECUTE FUNCTION inkroom_slow()"
            )
        else:
            cursor.execute("DROP TRIGGER IF EXISTS inkroom_slow ON board_op")


async def test_ops_sent_during_the_drain_are_not_stored_and_pending_ones_are(
    memory_layer: Any, connect: Any, board: Any, user: Any, settings: Any
) -> None:
    settings.INKROOM = {
        **settings.INKROOM,
        "TICK_MS": 1000,
        "FLUSH_IDLE_CPU": 0,
    }  # keep op 1 pending
    client = await connect(board, user)
    await client.sync()
    await sync_to_async(slow_op_inserts)(True)
    try:
        await client.send_ops([stroke(1, "s1")])
        hub = get_hub()
        for _ in range(100):
            if hub.rooms[board.id].pending or hub.rooms[board.id].spec_ops:
                break
            await asyncio.sleep(0.01)
        drain = asyncio.get_running_loop().create_task(hub.drain())
        await asyncio.sleep(0.05)  # the flush is committing op 1 (held by the slow insert)
        assert hub.draining and not drain.done()
        await client.send_ops([stroke(2, "s2")])  # arrives mid-drain: must not be read
        await asyncio.sleep(0.05)
        assert not hub.rooms[board.id].pending
        await asyncio.wait_for(drain, 5)
    finally:
        await sync_to_async(slow_op_inserts)(False)
    assert await client.expect_acked(1) == [(1, 1)]
    assert await client.expect_close() == CloseCode.SERVICE_RESTART
    assert [r[2] for r in await board_rows(board)] == [1]


async def test_the_stop_signal_sets_the_flag_the_hub_reads(
    memory_layer: Any, connect: Any, board: Any, user: Any
) -> None:
    client = await connect(board, user)
    await client.sync()
    PROCESS_DRAIN.begin()  # what SIGTERM does (realtime.server.serve), before any drain runs
    assert get_hub().draining
    # A socket that got past the gate before the signal is refused by the hub: no hello, 1012.
    late = await connect(board, user, expect_hello=False)
    message = await late.recv_raw()
    assert (message["type"], message.get("code")) == ("websocket.close", 1012)
    await client.close()
