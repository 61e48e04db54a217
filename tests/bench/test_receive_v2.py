"""
The load generator on protocol v2: UP_ADD and UP_APP frames out, DOWN_OPS and DEFS frames in.

DOWN_OPS entries (tag 0, 1 and 2) must be counted exactly like v1 `ops` entries (delivered,
points, latency, own acks, duplicates, gaps), with the handles each connection was given: the
same payload can name different authors on two connections, and a shared decode must never mix
them up.
"""

from __future__ import annotations

import random
from typing import Any

import msgpack
import pytest

from bench.client import STROKE_APPS, BenchClient, ClientSpec, FrameDecoder, Stats, client_id_for
from bench.compact_rx import scan_defs, scan_down_ops
from bench.replay_micro import check_v2_equivalence, server_frame
from realtime.wire.compact import (
    UP_ADD,
    UP_APP,
    UP_NEXT,
    CompactError,
    decode_up_add,
    decode_up_app,
    decode_up_next,
    style_name,
)
from realtime.wire.handles import (
    HandleTable,
    add_entry,
    app_entry,
    encode_defs,
    encode_tentatives,
    ops_head,
    v1_entry,
)
from realtime.wire.tentative import promote_frame
from tests.bench.receivers import NOW_US, RING_SIZE, connected_client
from tests.support.refclient import decode_down_ops

pytestmark = pytest.mark.usefixtures("clock")

_PTS = [1, 2, 3, 4, 4, 6, 5, 8]
_STYLE_TEXT = style_name({"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None})


def _client(ring: memoryview, slot: int, decoder: FrameDecoder, stats: Stats) -> BenchClient:
    return connected_client(ring, slot, decoder, stats, protocol=2)


def _pair(ring: memoryview) -> tuple[Stats, BenchClient, BenchClient]:
    """
    Clients 1 and 2 sharing one decoder (and so its cache) and one Stats.
    """
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    return stats, _client(ring, 1, decoder, stats), _client(ring, 2, decoder, stats)


def _sent(ring: memoryview, slot: int, i: int, took_us: int = 1000) -> None:
    ring[slot * RING_SIZE + i] = NOW_US - took_us


def _down(first: int, entries: list[bytes], defs: list[tuple[int, str]] | None = None) -> bytes:
    return ops_head(first, defs or [], len(entries)) + b"".join(entries)


def _app(author: int, i: int, element: int = 9, pts: list[int] = _PTS) -> bytes:
    return app_entry(author, i, element, pts)


def _add(
    author: int, i: int, element: int = 9, style: int = 20, pts: list[int] | None = None
) -> bytes:
    return add_entry(author, i, element, -4321, 777, style, pts or [0, 0])


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
    stats, a, b = _pair(ring)
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
            if rng.random() < 0.3:
                x, y = rng.randint(-(10**7), 10**7), rng.randint(-(10**7), 10**7)
                style = rng.randrange(300, 400)  # not redefined by `defs`
                entries.append(add_entry(author, i, rng.randrange(200), x, y, style, pts, pr))
            else:
                entries.append(app_entry(author, i, rng.randrange(200), pts, pr))
            expect.append((True, author, i, n))
        first = rng.randrange(1, 1 << 30)
        data = ops_head(first, defs, len(entries)) + b"".join(entries)
        assert scan_down_ops(data) == (first, defs, expect)
        names = {h: _STYLE_TEXT for h in range(400)}
        # The reference reads it too, with the same op ids and point counts.
        got_first, decoded = decode_down_ops(data, names)
        assert got_first == first
        for entry, (_, _, i, n) in zip(decoded, expect, strict=True):
            if isinstance(entry, dict):
                body: Any = entry["el"] if entry["k"] == "add" else entry
                assert (entry["i"], len(body["p"]) // 2) == (i, n)
        assert scan_defs(encode_defs(defs)) == defs
    for truncated in (_app(0, 1), _add(0, 1)):
        with pytest.raises(CompactError):
            scan_down_ops(_down(1, [truncated])[:-1])
    with pytest.raises(CompactError):
        scan_down_ops(_down(1, [_add(0, 1)]) + b"\x00")
    with pytest.raises(CompactError):
        scan_down_ops(_down(1, [_app(0, 1)]) + b"\x00")


async def test_v2_sends_the_add_as_up_add_and_the_appends_as_up_next(ring: memoryview) -> None:
    v2 = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "inkroom", 4,
                     False, protocol=2)  # fmt: skip
    v1 = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "inkroom", 4,
                     False, protocol=1)  # fmt: skip
    for stroke in range(3):
        up, points = v2.next_frame()
        add = msgpack.unpackb(v1.next_frame()[0])["ops"][0]
        assert up[0] == UP_ADD and points == 1 and add["k"] == "add"
        got = decode_up_add(up, 1024)
        el = add["el"]
        assert (got.i, got.id, got.x, got.y, got.p, got.pr) == (
            add["i"], el["id"], el["x"], el["y"], el["p"], None)  # fmt: skip
        # The connection's first stroke names its style; later ones send "" (the same style).
        assert got.style == (el["style"] if stroke == 0 else None), stroke
        for k in range(STROKE_APPS):
            up, points = v2.next_frame()
            app = msgpack.unpackb(v1.next_frame()[0])["ops"][0]
            # Each append follows the op before it: UP_NEXT, whose op id is that one's + 1.
            assert up[0] == UP_NEXT, k
            got_app = decode_up_next(up, 1024)
            assert (got.i + 1 + k, got_app.p, points) == (app["i"], app["p"], 4), k
    # A new connection names the style again, and the first append after a skipped op id its id.
    v2.style_sent, v2.last_i = False, None
    v2.stroke_left = 0
    assert decode_up_add(v2.next_frame()[0], 1024).style is not None
    v2.last_i = None
    up, _ = v2.next_frame()
    assert up[0] == UP_APP and decode_up_app(up, 1024).i == v2.next_i - 1
    relay = BenchClient(ClientSpec("/", 0, 0, 3, draw=True), Stats(), ring, RING_SIZE, "relay", 4,
                        False, protocol=2)  # fmt: skip
    assert msgpack.unpackb(relay.next_frame()[0])["ops"][0]["c"] == 3  # relays stay v1
    assert msgpack.unpackb(relay.next_frame()[0])["ops"][0]["k"] == "app"


async def test_tag_2_adds_count_like_any_entry(ring: memoryview) -> None:
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    clients = [_client(ring, slot, decoder, stats) for slot in (1, 2, 3)]
    # Seq 1: author 1's add; 2: author 2's add; 3-4: their appends. Handles: 0 and 1 authors,
    # 8 and 9 elements, 20 the style (a JSON text: never an author).
    _sent(ring, 1, 1, took_us=3000)
    _sent(ring, 2, 1, took_us=2500)
    _sent(ring, 1, 2, took_us=2000)
    _sent(ring, 2, 2, took_us=1500)
    defs = [(0, client_id_for(1)), (1, client_id_for(2)), (8, "s1-1"), (9, "s2-1"),
            (20, _STYLE_TEXT)]  # fmt: skip
    first = _down(1, [_add(0, 1, 8), _add(1, 1, 9), _app(0, 2, 8), _app(1, 2, 9)], defs)
    # An add with three points and pressure (the bench's carry one) counts its points.
    _sent(ring, 1, 3, took_us=700)
    second = _down(5, [add_entry(0, 3, 8, 5, -5, 20, [1, 1, 2, 2, 3, 3], [10, 20, 30])])
    for c in clients:
        c.ws.data_received(server_frame(first))
        c.ws.data_received(server_frame(second))
    assert sum(len(h.frames) for h in decoder.maps.values()) == 2  # once for all three
    assert decoder.maps[clients[0].handles.key()].slots == {0: 1, 1: 2}
    counts = stats.counts
    assert counts["delivered"] == 3 * 5
    assert counts["points_delivered"] == 3 * (1 + 1 + 4 + 4 + 3)
    assert stats.latency.count == 15
    assert stats.latency.total == 3 * (3000 + 2500 + 2000 + 1500 + 700)
    # Own adds are acks: client 1 sees ops 1-3, client 2 ops 1-2, client 3 nothing of its own.
    assert counts["acked"] == 5
    assert stats.ack.total == (3000 + 2000 + 700) + (2500 + 1500)
    assert [c.ack_hwm for c in clients] == [3, 2, 0]
    assert [c.last_seq for c in clients] == [5, 5, 5]
    assert [c.hwm for c in clients] == [{1: 3, 2: 2}] * 3
    assert counts["duplicates"] == counts["seq_gaps"] == counts["foreign_entries"] == 0


async def test_tag_2_adds_follow_the_per_entry_rules(ring: memoryview) -> None:
    stats = Stats()
    c = _client(ring, 9, FrameDecoder(ring, RING_SIZE), stats)
    for i in (1, 2, 3):
        _sent(ring, 1, i)
    defs = [(0, client_id_for(1)), (8, "s1-1"), (20, _STYLE_TEXT)]
    c.ws.data_received(server_frame(_down(1, [_add(0, 1, 8), _app(0, 2, 8)], defs)))
    # Seq 2 again (a duplicate), then author 1's next add; then a gap; then an add whose author
    # handle is the style's (foreign), and the style's handle recycled for author 1: its add at
    # seq 8 counts (the same payload bytes under a new map are decoded again).
    c.ws.data_received(server_frame(_down(2, [_app(0, 2, 8), _add(0, 3, 9)], [(9, "s1-2")])))
    c.ws.data_received(server_frame(_down(6, [_add(20, 4, 9)])))
    _sent(ring, 1, 4)
    c.ws.data_received(server_frame(_down(7, [_add(20, 4, 9)], [(20, client_id_for(1))])))
    counts = stats.counts
    assert counts["delivered"] == 4
    assert counts["points_delivered"] == 1 + 4 + 1 + 1
    assert counts["duplicates"] == 1
    assert counts["seq_gaps"] == 1
    assert counts["foreign_entries"] == 1
    assert c.last_seq == 7 and c.hwm == {1: 4}


async def test_a_style_handle_recycled_for_an_author_is_not_read_from_the_old_cache(
    ring: memoryview,
) -> None:
    stats, a, b = _pair(ring)
    # Handle 20 is the style for `a` and client 2 for `b`: the same tag-2 payload naming 20 as
    # its author is foreign on `a` and client 2's own add (its ack) on `b`.
    a.ws.data_received(server_frame(encode_defs([(20, _STYLE_TEXT), (9, "e")])))
    b.ws.data_received(server_frame(encode_defs([(20, client_id_for(2)), (9, "e")])))
    _sent(ring, 2, 5, took_us=900)
    shared = _down(1, [_add(20, 5, 9)])
    a.ws.data_received(server_frame(shared))
    b.ws.data_received(server_frame(shared))
    assert a.hwm == {} and b.hwm == {2: 5}
    assert (a.ack_hwm, b.ack_hwm) == (0, 5)
    assert stats.counts["foreign_entries"] == 1
    assert stats.counts["delivered"] == 1 and stats.latency.total == 900


async def test_the_replay_stream_counts_the_same_as_v1_with_tag_2_adds() -> None:
    # The server's encoder (realtime.wire.handles) sends the stream's adds as tag-2 entries: the
    # irregular replay (duplicates, gaps, foreign entries, split reads, DEFS) must still give
    # exactly v1's figures.
    ring = memoryview(bytearray(8 * RING_SIZE * 256)).cast("q")
    assert check_v2_equivalence(ring, 6, 2, 150, 3) > 0


async def test_compact_tentatives_count_like_tent_frames_and_a_promotion_confirms_them(
    ring: memoryview,
) -> None:
    """
    `tentative=2` (§2.6): a DOWN_TENT is the delivery, its DOWN_PROMOTE only confirms it (and
    acks the author's own op), both counted as down bytes.
    """
    stats = Stats()
    decoder = FrameDecoder(ring, RING_SIZE)
    watcher = _client(ring, 3, decoder, stats)
    author = _client(ring, 1, decoder, stats)
    _sent(ring, 1, 1, took_us=300)
    _sent(ring, 2, 1, took_us=300)
    table = HandleTable()
    ops = [
        (client_id_for(slot), None, {"i": 1, "k": "app", "id": f"e{slot}", "p": _PTS})
        for slot in (1, 2)
    ]
    tent = encode_tentatives(table, ops)
    for c in (watcher, author):
        c.counting = True
        c.ws.data_received(server_frame(tent))
    counts = stats.counts
    assert (counts["delivered"], counts["tentative"]) == (3, 3)
    assert stats.latency.total == 3 * 300
    promote = promote_frame(1, 2)
    for c in (watcher, author):
        c.ws.data_received(server_frame(promote))
    assert (counts["delivered"], counts["confirmed"], counts["duplicates"]) == (4, 3, 0)
    assert counts["acked"] == 1 and watcher.last_seq == author.last_seq == 2
    assert counts["ops_bytes_in"] == 2 * (len(tent) + 2 + len(promote) + 2)
    # A promotion with no batch held (a frame of entries came since) is not counted twice.
    watcher.ws.data_received(server_frame(promote))
    assert counts["delivered"] == 4 and counts["duplicates"] == 0
    # The next batch continues the same handles: tag-3 entries, then a promotion from seq 3.
    _sent(ring, 2, 2, took_us=500)
    nxt = encode_tentatives(
        table, [(client_id_for(2), None, {"i": 2, "k": "app", "id": "e2", "p": _PTS})]
    )
    assert nxt[3] == 3  # tag 3: author handle and points only
    watcher.ws.data_received(server_frame(nxt))
    watcher.ws.data_received(server_frame(promote_frame(3, 1)))
    assert (counts["delivered"], counts["confirmed"], watcher.last_seq) == (5, 4, 3)
    # A promotion whose count is not the batch's is malformed.
    watcher.ws.data_received(server_frame(nxt))
    with pytest.raises(CompactError):
        watcher.ws.data_received(server_frame(promote_frame(4, 2)))
