"""
Pure parts of the hub: in-order delivery in a Room, presence expiry, token buckets. No database,
no sockets.
"""

from __future__ import annotations

import msgpack
import pytest

from board.document import BoardState
from realtime.cluster.presence import PRESENCE_EXPIRY_SECS, PresenceBook
from realtime.engine.delivery import Delivery
from realtime.engine.ratelimit import STRIKES_TO_CLOSE, RateLimiter, TokenBucket
from realtime.engine.room import Room
from realtime.wire.frames import ops_frame_from_entries
from tests.support.refclient import decode_server_binary


def delivery(first: int, last: int) -> Delivery:
    entries = [
        msgpack.packb({"s": s, "k": "clr", "i": s, "c": "c", "u": None})
        for s in range(first, last + 1)
    ]
    return Delivery(first, last, ops_frame_from_entries(entries), entries)


def seqs(out: list[Delivery]) -> list[int]:
    return [e["s"] for d in out for e in decode_server_binary(d.frame).ops]  # type: ignore[union-attr]


def ready_room(seq: int = 0) -> Room:
    room = Room("b1")
    assert room.load(BoardState(seq=seq), 0, 0.0) == []
    return room


def test_room_delivers_in_order_and_drops_duplicates():
    room = ready_room()
    assert seqs(room.offer(delivery(1, 2))) == [1, 2]
    assert room.offer(delivery(1, 2)) == []  # duplicate
    assert room.offer(delivery(5, 6)) == []  # ahead of a gap: held
    assert room.gap_range() == (2, 4)
    assert room.offer(delivery(4, 4)) == []
    assert room.gap_range() == (2, 3)  # (after, upto): only 3 is missing now
    assert seqs(room.offer(delivery(3, 3))) == [3, 4, 5, 6]
    assert room.gap_range() is None and room.delivered_seq == 6 and not room.reorder


def test_room_trims_a_partially_overlapping_frame():
    room = ready_room()
    room.offer(delivery(1, 3))
    assert seqs(room.offer(delivery(2, 5))) == [4, 5]


def test_frames_offered_before_the_load_wait_for_it():
    room = Room("b1")
    assert room.offer(delivery(3, 4)) == [] and room.offer(delivery(6, 6)) == []
    # The board loaded at seq 3: 3 is covered by the state, 4 follows, 6 waits for 5.
    assert seqs(room.load(BoardState(seq=3), 0, 0.0)) == [4]
    assert room.gap_range() == (4, 5)


def test_remote_frames_update_an_exact_state_and_holes_make_it_inexact():
    room = ready_room()
    add = {"i": 1, "k": "add", "el": {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 1, "h": 1}}
    add["el"]["style"] = {"color": "#000000", "width": 1, "opacity": 1, "fill": None}
    entry = msgpack.packb({**add, "s": 1, "c": "c", "u": None})
    room.offer(Delivery(1, 1, ops_frame_from_entries([entry]), [entry]))
    assert room.state is not None and "a" in room.state.elements and room.exact
    assert room.snapshot_current()
    room.spec_ops = 1  # a local batch is in flight: a remote frame now interleaves with it
    room.offer(delivery(2, 2))
    assert not room.exact and not room.snapshot_current()


def test_presence_book_merges_and_expires_remote_hubs():
    book = PresenceBook()
    mine = [{"client_id": "me", "user_id": 1, "name": "a", "color": "#000000", "role": "owner"}]
    theirs = [{"client_id": "you", "user_id": 2, "name": "b", "color": "#ffffff", "role": "editor"}]
    assert book.update("hub-2", theirs, now=0.0) is True  # type: ignore[arg-type]
    assert book.update("hub-2", theirs, now=1.0) is False  # type: ignore[arg-type]
    assert [e["client_id"] for e in book.merged(mine)] == ["me", "you"]  # type: ignore[arg-type]
    assert book.expire(now=PRESENCE_EXPIRY_SECS) is False
    assert book.expire(now=PRESENCE_EXPIRY_SECS + 2.0) is True  # the hub fell silent
    assert [e["client_id"] for e in book.merged(mine)] == ["me"]  # type: ignore[arg-type]
    book.update("hub-3", theirs, now=0.0)  # type: ignore[arg-type]
    assert book.update("hub-3", [], now=1.0) is True  # an empty announcement removes it


def test_presence_book_knows_which_hubs_hold_the_board_until_they_fall_silent():
    book = PresenceBook()
    assert not book.held_elsewhere
    assert book.hold("hub-2", True, now=0.0) is True  # new: this hub answers with its own
    assert book.hold("hub-2", True, now=5.0) is False  # a refresh
    assert book.held_elsewhere
    book.expire(now=PRESENCE_EXPIRY_SECS + 4.0)
    assert book.held_elsewhere  # refreshed at 5 s
    book.expire(now=PRESENCE_EXPIRY_SECS + 6.0)
    assert not book.held_elsewhere  # a killed pod stops costing the layer
    book.hold("hub-3", True, now=0.0)
    assert book.hold("hub-3", False, now=1.0) is False
    assert not book.held_elsewhere  # it closed its room


@pytest.mark.parametrize(
    ("rate", "burst", "takes", "expected"), [(1, 2, [1, 1, 1], [True, True, False])]
)
def test_token_bucket(rate: float, burst: float, takes: list[int], expected: list[bool]):
    bucket = TokenBucket(rate, burst)
    assert [bucket.take(n, now=10.0) for n in takes] == expected
    assert bucket.take(1, now=11.0) is True  # refilled by `rate` per second


def test_rate_limiter_checks_both_budgets_and_counts_strikes():
    limiter = RateLimiter.create(ops_per_sec=10, ops_burst=10, bytes_per_sec=100, bytes_burst=100)
    assert limiter.allow(5, 50, now=0.0)
    assert not limiter.allow(1, 80, now=0.0)  # bytes over budget: ops given back
    assert limiter.ops.tokens == 5
    for _ in range(STRIKES_TO_CLOSE - 2):
        limiter.allow(100, 1, now=0.5)
    assert not limiter.abusive
    limiter.allow(100, 1, now=0.5)
    assert limiter.abusive
