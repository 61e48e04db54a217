"""
The load generator's receive path: frame parsing, per-frame accounting and batch latency.

The per-frame path must give the figures the per-entry rules give (docs: bench/client.py);
bench.replay_micro compares it with the old code on a long irregular stream, these pin the
rules themselves on small hand-made streams.
"""

from __future__ import annotations

import random

import msgpack
import pytest

from bench.client import BenchClient, FrameDecoder, Stats, client_id_for
from bench.hist import _BUCKET_TABLE, _TABLE_US, Histogram, Starts, bucket_of
from bench.replay_micro import FakeClock, server_frame
from tests.bench.receivers import HANDSHAKE, NOW_US, RING_SIZE, SYNCED, connected_client


def _client(ring: memoryview, slot: int, decoder: FrameDecoder, stats: Stats) -> BenchClient:
    return connected_client(ring, slot, decoder, stats)


def _ops(ring: memoryview, entries: list[tuple[int, int, int]], took_us: int = 1000) -> bytes:
    """
    An `ops` frame of (seq, author slot, op id) entries, sent took_us before NOW_US.
    """
    out = []
    for seq, slot, i in entries:
        ring[slot * RING_SIZE + i] = NOW_US - took_us
        c = client_id_for(slot) if slot >= 0 else "stranger1"
        out.append({"i": i, "k": "app", "id": "e", "p": [1, 2, 3, 4], "s": seq, "c": c, "u": 1})
    return server_frame(msgpack.packb({"t": "ops", "ops": out}))


async def test_every_receiver_counts_every_entry_of_a_shared_frame(
    ring: memoryview, clock: FakeClock
) -> None:
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    clients = [_client(ring, slot, decoder, stats) for slot in (1, 2, 3)]
    first = _ops(ring, [(1, 1, 1), (2, 2, 1), (3, 1, 2)], took_us=2000)
    second = _ops(ring, [(4, 2, 2)], took_us=500)
    for c in clients:
        c.ws.data_received(first)
        c.ws.data_received(second)
    assert len(decoder.frames) == 2  # decoded once each, for all three receivers
    assert stats.counts["delivered"] == 12
    assert stats.counts["points_delivered"] == 24
    assert stats.counts["ops_frames_in"] == 6
    assert stats.latency.count == 12
    assert stats.latency.total == 9 * 2000 + 3 * 500
    assert stats.latency.max == 2000
    # Client 1 authored ops 1 and 2, client 2 ops 1 and 2: their own entries are their acks.
    assert stats.counts["acked"] == 4
    assert [c.ack_hwm for c in clients] == [2, 2, 0]
    assert [c.last_seq for c in clients] == [4, 4, 4]


async def test_overlap_gap_and_foreign_entries_follow_the_per_entry_rules(
    ring: memoryview, clock: FakeClock
) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    c.ws.data_received(_ops(ring, [(1, 1, 1), (2, 1, 2)]))
    # Seqs 2-3 again (2 is a duplicate), then a gap to 6 and a foreign author.
    c.ws.data_received(_ops(ring, [(2, 1, 2), (3, 2, 1)]))
    c.ws.data_received(_ops(ring, [(6, 2, 2), (7, -1, 1)]))
    # A new seq carrying an op id already seen from that author: a duplicate too.
    c.ws.data_received(_ops(ring, [(8, 1, 1)]))
    counts = stats.counts
    assert (counts["delivered"], counts["duplicates"]) == (4, 2)
    assert (counts["seq_gaps"], counts["foreign_entries"]) == (1, 1)
    assert stats.latency.count == 4
    assert c.last_seq == 8
    assert c.hwm == {1: 2, 2: 2}


async def test_frames_split_and_coalesced_across_reads(ring: memoryview, clock: FakeClock) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    big = _ops(ring, [(s, 1, s) for s in range(1, 41)])  # > 125 bytes: 16-bit length
    small = _ops(ring, [(41, 2, 1)])
    stream = big + small + server_frame(b"x", opcode=9) + _ops(ring, [(42, 2, 2)])
    rng = random.Random(3)
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 90)
        c.ws.data_received(stream[pos : pos + step])
        pos += step
    assert stats.counts["delivered"] == 42
    assert stats.counts["duplicates"] == 0
    assert c.ws.frames_in == 1 + 4  # the `synced` frame and the ping included
    assert c.ws.bytes_in == len(HANDSHAKE) + len(SYNCED) + len(stream)


async def test_fragmented_message_is_reassembled(ring: memoryview, clock: FakeClock) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    payload = _ops(ring, [(1, 1, 1), (2, 1, 2)])[2:]
    head, tail = payload[:10], payload[10:]
    c.ws.data_received(bytes((0x02, len(head))) + head + bytes((0x80, len(tail))) + tail)
    assert stats.counts["delivered"] == 2


def test_bucket_table_matches_bucket_of() -> None:
    assert len(_BUCKET_TABLE) == _TABLE_US
    for v in [*range(0, 5000), *range(_TABLE_US - 5000, _TABLE_US)]:
        assert _BUCKET_TABLE[v] == bucket_of(v), v


@pytest.mark.parametrize(
    ("end", "starts"),
    [
        (100_000, [99_000, 80_000, 60_500, 99_999, 100_000]),
        (100_000, [100_200, 50_000]),  # a negative sample (clamped to 0)
        (3_000_000, [10, 2_999_000]),  # beyond the table
        (5, []),
    ],
)
def test_record_ends_equals_recording_each(end: int, starts: list[int]) -> None:
    batch, single = Histogram(), Histogram()
    batch.record_ends(end, Starts(starts))
    for t in starts:
        single.record(end - t)
    assert batch.to_state() == single.to_state()


def _tent(ring: memoryview, entries: list[tuple[int, int]], took_us: int = 1000) -> bytes:
    """
    A `tent` frame (protocol §2.6) of (author slot, op id) ops, sent took_us before NOW_US.
    """
    out = []
    for slot, i in entries:
        ring[slot * RING_SIZE + i] = NOW_US - took_us
        out.append({"c": client_id_for(slot), "i": i, "k": "app", "id": "e", "p": [1, 2, 3, 4]})
    return server_frame(msgpack.packb({"t": "tent", "ops": out}))


async def test_a_tentative_is_the_delivery_and_its_entry_only_confirms_it(
    ring: memoryview, clock: FakeClock
) -> None:
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    watcher = _client(ring, 3, decoder, stats)
    author = _client(ring, 1, decoder, stats)
    # The author is offered its own op among another's: it counts neither (its own is acked by
    # the commit, the other is a delivery to it).
    tent = _tent(ring, [(1, 1), (2, 1)], took_us=300)
    for c in (watcher, author):
        c.ws.data_received(tent)
    counts = stats.counts
    assert (counts["delivered"], counts["tentative"]) == (3, 3)
    assert stats.latency.total == 3 * 300
    committed = _ops(ring, [(1, 1, 1), (2, 2, 1)], took_us=2000)
    for c in (watcher, author):
        c.ws.data_received(committed)
    # The entries confirm what was delivered; the author's own entry is its ack and, new to it,
    # nothing else: no duplicates, no second latency sample.
    assert (counts["delivered"], counts["confirmed"], counts["duplicates"]) == (4, 3, 0)
    assert counts["acked"] == 1
    assert stats.latency.count == 4
    # The same entries again are duplicates, as without tentatives.
    watcher.ws.data_received(_ops(ring, [(2, 2, 1)]))
    assert counts["duplicates"] == 1
