"""
A gap between hubs is read from the log after gap_wait_ms on the hub's clock (not the loop's), so
a fake clock decides when: no sleeping in the test, and no flakiness on a loaded machine.
"""

from __future__ import annotations

import asyncio

import msgpack
import pytest

from board.document import BoardState
from realtime.engine.delivery import Delivery
from realtime.engine.hub import Hub
from realtime.engine.room import Room
from realtime.wire.frames import ops_frame_from_entries
from tests.support.clock import FakeClock


def _delivery(first: int, last: int) -> Delivery:
    entries = [
        msgpack.packb({"s": s, "k": "clr", "i": s, "c": "c", "u": None})
        for s in range(first, last + 1)
    ]
    return Delivery(first, last, ops_frame_from_entries(entries), entries)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("gap_wait_ms", [500, 80])
async def test_a_gap_is_read_from_the_log_when_the_hub_clock_passes_gap_wait(settings, gap_wait_ms):
    settings.INKROOM = {**settings.INKROOM, "GAP_WAIT_MS": gap_wait_ms}
    clock = FakeClock()
    hub = Hub(clock=clock, sleep=clock.sleep)
    room = hub.rooms["b1"] = Room("b1")
    room.load(BoardState(seq=0), 0, clock())
    filled: list[tuple[int, int]] = []

    async def fill(_room: Room, after: int, upto: int) -> None:
        filled.append((after, upto))

    hub.repair.fill = fill  # type: ignore[method-assign]
    hub.deliver(room, room.offer(_delivery(3, 4)))  # 1 and 2 missing
    clock.advance(gap_wait_ms / 1000 - 0.001)
    await _settle()
    assert filled == []  # still within gap_wait: the missing frames may yet arrive
    clock.advance(0.002)
    await _settle()
    assert filled == [(0, 2)]
    await hub.close()
