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
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room
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


class _Recorder:
    """
    A send queue that records how each frame was pushed.
    """

    def __init__(self) -> None:
        self.pushed: list[tuple[str, bytes]] = []

    def push(self, frame: bytes) -> bool:
        self.pushed.append(("now", frame))
        return True

    def push_lazy(self, frame: bytes) -> bool:
        self.pushed.append(("lazy", frame))
        return True

    def cancel(self) -> None:
        pass


def _peer(client_id: str, *, tentative: bool) -> Peer:
    return Peer(
        board_id="b1",
        client_id=client_id,
        user_id=None,
        user_name="",
        role="editor",
        share=None,
        send_queue=_Recorder(),  # type: ignore[arg-type]
        limiter=RateLimiter.from_settings(),
        catching_up=False,
        tentative=tentative,
    )


async def test_entries_confirming_tentatives_go_lazily_to_opted_in_sockets_but_their_authors():
    """
    The committed entries of ops a socket holds as tentatives can ride with its next frame; the
    author (whose acknowledgement they are) and a socket that did not opt in get them at once,
    and so does every socket for a delivery that confirms nothing (another process's ops).
    """
    hub = Hub(clock=FakeClock())
    room = hub.rooms["b1"] = Room("b1")
    room.load(BoardState(seq=0), 0, 0.0)
    author, other, plain = (
        _peer("author", tentative=True),
        _peer("other", tentative=True),
        _peer("plain", tentative=False),
    )
    for peer in (author, other, plain):
        room.peers[peer.id] = peer
    own = _delivery(1, 2)
    hub.deliver(room, room.offer(own), own, {"author"})
    remote = _delivery(3, 3)
    hub.deliver(room, room.offer(remote))
    modes = {
        p.client_id: [mode for mode, _ in p.send_queue.pushed]  # type: ignore[attr-defined]
        for p in (author, other, plain)
    }
    assert modes == {"author": ["now", "now"], "other": ["lazy", "now"], "plain": ["now", "now"]}
    await hub.close()
