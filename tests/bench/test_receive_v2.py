"""
The load generator on protocol v2: UP_APP frames out, DOWN_OPS and DEFS frames in.

DOWN_OPS entries must be counted exactly like v1 `ops` entries (delivered, points, latency,
own acks, duplicates, gaps), with the handles each connection was given: the same payload can
name different authors on two connections, and a shared decode must never mix them up.
"""

from __future__ import annotations

import random

import msgpack
import pytest

from bench import wsclient as wsclient_mod
from bench.client import STROKE_APPS, BenchClient, ClientSpec, FrameDecoder, Stats, client_id_for
from bench.compact_rx import scan_defs, scan_down_ops
from bench.replay_micro import FakeClock, FakeTransport, server_frame
from realtime.compact import (
    CompactError,
    app_entry,
    decode_down_ops,
    decode_up_app,
    encode_defs,
    ops_head,
    v1_entry,
)

RING_SIZE = 1024
NOW_US = 5_000_000
_HANDSHAKE = b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
_SYNCED = server_frame(b'{"type": "synced", "seq": 0}', opcode=1)
_PTS = [1, 2, 3, 4, 4, 6, 5, 8]


@pytest.fixture
def ring() -> memoryview:
    return memoryview(bytearray(8 * RING_SIZE * 8)).cast("q")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    clock.now_ns = NOW_US * 1000
    monkeypatch.setattr(wsclient_mod, "monotonic_ns", clock)
    return clock


def _client(ring: memoryview, slot: int, decoder: FrameDecoder, stats: Stats) -> BenchClient:
    c = BenchClient(ClientSpec("/", 0, 0, slot), stats, ring, RING_SIZE, "inkroom", 4, False,
                    decoder, protocol=2)  # fmt: skip
    c.ws.connection_made(FakeTransport())  # type: ignore[arg-type]
    c.ws.data_received(_HANDSHAKE)
    c.ws.data_received(_SYNCED)
    c.counting = True
    return c


def _sent(ring: memoryview, slot: int, i: int, took_us: int = 1000) -> None:
    ring[slot * RING_SIZE + i] = NOW_US - took_us


def _down(first: int, entries: list[bytes], defs: list[tuple[int, str]] | None = None) -> bytes:
    return ops_head(first, defs or [], len(entries)) + b"".join(entries)


def _app(author: int, i: int, element: int = 9, pts: list[int] = _PTS) -> bytes:
    return app_entry(author, i, element, pts)


def _wire(payload: bytes) -> int:
    return len(payload) + (2 if len(payload) < 126 else 4)


async def test_a_shared_frame_is_decoded_once_and_counted_for_every_receiver(
    ring: memoryview,
) -> None:
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    clients = [_client(ring, slot, decoder, stats) for slot in (1, 2, 3)]
    for slot, i in ((1, 1), (2, 1), (1, 2)):
        _sent(ring, slot, i, took_us=2000)
    add = msgpack.packb({"i": 1, "k": "add", "el": {"id": "e", "p": [0, 0]}, "s": 1,
                         "c": client_id_for(1), "u": 1})  # fmt: skip
    # Seq 1: author 1's `add` as v1 bytes; 2-3: appends naming handles defined inline.
    first = _down(1, [v1_entry(add), _app(0, 1), _app(1, 2)], [(0, client_id_for(2)),
                  (1, client_id_for(1)), (9, "e")])  # fmt: skip
    _sent(ring, 2, 2, took_us=500)
    second = _down(4, [_app(0, 2)])
    for c in clients:
        c.ws.data_received(server_frame(first))
        c.ws.data_received(server_frame(second))
    # One decode per payload for all three: they hold the same (interned) handle map.
    assert len({id(c.handles) for c in clients}) == 1
    assert sum(len(h.frames) for h in decoder.maps.values()) == 2
    counts = stats.counts
    assert counts["delivered"] == 12
    assert counts["points_delivered"] == 3 * (1 + 4 + 4 + 4)
    assert counts["ops_frames_in"] == 6
    assert counts["ops_bytes_in"] == 3 * (_wire(first) + _wire(second))
    assert stats.latency.count == 12
    assert stats.latency.total == 9 * 2000 + 3 * 500
    assert counts["acked"] == 4
    assert [c.ack_hwm for c in clients] == [2, 2, 0]
    assert [c.last_seq for c in clients] == [4, 4, 4]
    assert counts["duplicates"] == counts["seq_gaps"] == counts["foreign_entries"] == 0


async def test_the_same_bytes_mean_different_authors_on_different_connections(
    ring: memoryview,
) -> None:
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    a = _client(ring, 1, decoder, stats)
    b = _client(ring, 2, decoder, stats)
    # Handle 5 is client 1 for `a` and client 2 for `b` (each learnt it in its own DEFS).
    defs_a = encode_defs([(5, client_id_for(1)), (9, "e")])
    defs_b = encode_defs([(5, client_id_for(2)), (9, "e")])
    a.ws.data_received(server_frame(defs_a))
    b.ws.data_received(server_frame(defs_b))
    assert a.handles is not b.handles
    _sent(ring, 1, 7, took_us=1000)
    _sent(ring, 2, 7, took_us=3000)
    shared = _down(1, [_app(5, 7)])
    a.ws.data_received(server_frame(shared))
    b.ws.data_received(server_frame(shared))
    assert a.hwm == {1: 7} and b.hwm == {2: 7}
    assert (a.ack_hwm, b.ack_hwm) == (7, 7)  # each is the author on its own connection
    assert stats.latency.total == 1000 + 3000
    assert stats.counts["defs_frames_in"] == 2
    assert stats.counts["defs_bytes_in"] == _wire(defs_a) + _wire(defs_b)
    assert stats.counts["ops_bytes_in"] == _wire(defs_a) + _wire(defs_b) + 2 * _wire(shared)


async def test_recycled_handles_and_the_per_entry_rules(ring: memoryview) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    for i in (1, 2, 3):
        _sent(ring, 1, i)
    c.ws.data_received(server_frame(_down(1, [_app(0, 1), _app(0, 2)], [(0, client_id_for(1))])))
    # Seqs 2-3 again: 2 is a duplicate. Then handle 0 is recycled for an element, so an entry
    # naming it as author is foreign; a v1 `ops` frame in between counts the same way.
    c.ws.data_received(server_frame(_down(2, [_app(0, 2), _app(0, 3)])))
    v1 = {"t": "ops", "ops": [{"s": 4, "c": "someone-else", "i": 1, "k": "app", "id": "x",
                               "p": [1, 1], "u": 2}]}  # fmt: skip
    c.ws.data_received(server_frame(msgpack.packb(v1)))
    c.ws.data_received(server_frame(_down(7, [_app(0, 4)], [(0, "stroke-x")])))
    counts = stats.counts
    assert counts["delivered"] == 3
    assert counts["duplicates"] == 1
    assert counts["seq_gaps"] == 1
    assert counts["foreign_entries"] == 2
    assert c.last_seq == 7 and c.hwm == {1: 3}


async def test_frames_split_across_reads(ring: memoryview) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    defs = [(h, client_id_for(h)) for h in range(4)]
    big = _down(1, [_app(h % 4, 1 + h // 4) for h in range(40)], defs)  # > 125 bytes
    for h in range(40):
        _sent(ring, h % 4, 1 + h // 4)
    stream = server_frame(encode_defs([(4, client_id_for(4))])) + server_frame(big)
    stream += server_frame(_down(41, [_app(4, 1)]))
    _sent(ring, 4, 1)
    rng = random.Random(5)
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 60)
        c.ws.data_received(stream[pos : pos + step])
        pos += step
    assert stats.counts["delivered"] == 41
    assert stats.counts["foreign_entries"] == 0
    assert c.hwm == {0: 10, 1: 10, 2: 10, 3: 10, 4: 1}


def test_scan_agrees_with_the_reference_decoder() -> None:
    rng = random.Random(2)
    for _ in range(200):
        defs = [(rng.randrange(300), f"n{rng.randrange(10**6)}") for _ in range(rng.randrange(4))]
        entries: list[bytes] = []
        expect: list[tuple[bool, object, int, int]] = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.2:
                raw = msgpack.packb({"i": 3, "k": "add", "c": "bench000004", "el": {}})
                entries.append(v1_entry(raw))
                expect.append((False, "bench000004", 3, 1))
                continue
            n = rng.randint(1, 20)
            pts = [rng.randint(-300, 300) for _ in range(2 * n)]
            pr = [rng.randint(0, 100) for _ in range(n)] if rng.random() < 0.5 else None
            author, i = rng.randrange(200), rng.randrange(1, 1 << 40)
            entries.append(app_entry(author, i, rng.randrange(200), pts, pr))
            expect.append((True, author, i, n))
        first = rng.randrange(1, 1 << 30)
        data = ops_head(first, defs, len(entries)) + b"".join(entries)
        assert scan_down_ops(data) == (first, defs, expect)
        names = {h: "x" for h in range(300)}
        assert decode_down_ops(data, names)[0] == first  # the reference reads it too
        assert scan_defs(encode_defs(defs)) == defs
    with pytest.raises(CompactError):
        scan_down_ops(_down(1, [_app(0, 1)])[:-1])
    with pytest.raises(CompactError):
        scan_down_ops(_down(1, [_app(0, 1)]) + b"\x00")


async def test_v2_sends_the_add_as_ops_and_the_appends_as_up_app(ring: memoryview) -> None:
    v2 = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "inkroom", 4,
                     False, protocol=2)  # fmt: skip
    v1 = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "inkroom", 4,
                     False, protocol=1)  # fmt: skip
    add2, points = v2.next_frame()
    add1, _ = v1.next_frame()
    assert add2 == add1 and points == 1
    assert msgpack.unpackb(add2)["ops"][0]["k"] == "add"
    for k in range(STROKE_APPS):
        up, points = v2.next_frame()
        app = msgpack.unpackb(v1.next_frame()[0])["ops"][0]
        got = decode_up_app(up, 1024)
        assert (got.i, got.p, got.pr, points) == (app["i"], app["p"], None, 4), k
    # The next stroke starts with an `add` again.
    assert msgpack.unpackb(v2.next_frame()[0])["ops"][0]["k"] == "add"
    relay = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "relay", 4,
                        False, protocol=2)  # fmt: skip
    relay.next_frame()
    assert msgpack.unpackb(relay.next_frame()[0])["ops"][0]["c"] == 3  # relays stay v1
