"""
Offline replay of the load generator's receive path: CPU µs per op delivery, old vs new.

`python -m bench.replay_micro` builds the `ops` frames scenario B's server sends (one board,
20 drawers at 30 Hz, one frame per 20 ms tick with ~12 entries of `app` ops of 4 points and a
stroke's `add` every 60 ops; entries as board/oplog/sequence.py writes them, frames as
realtime.wire.frames.ops_frame_from_entries joins them) and feeds each, as the wire bytes of one
socket read, to every receiver of one worker (100 of B's 200 clients with 2 workers) through
WsClient.data_received, then the whole BenchClient accounting.

The old path is bench/{hist,wsclient,client}.py as they were at a git revision (BASELINE_REV
or --baseline), loaded as separate modules so it stays measurable without living on in bench/.
Before timing, both paths receive the same deterministic stream (duplicates, gaps, foreign
entries, ack frames, coalesced and split reads, out-of-range latencies) on a fake clock and
must end with identical counts, histograms and per-client state. The timed variants then run
interleaved, chunk by chunk in alternating order, so load from other processes on the box hits
both alike; compare their ratio, not figures from another run. The send side (next_frame plus
send_binary per op) is timed the same way.

"v2" is the current path fed the same ticks as protocol v2 frames (DOWN_OPS encoded by
realtime.wire.handles, as the server does: stroke adds as tag-2 entries, appends as tag 1; UP_ADD
and UP_APP on the send side). It is checked first to give the figures v1 gives on an irregular
stream (bytes aside), then timed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import types
from typing import Any

import msgpack

from bench import client as new_client
from bench import wsclient as new_wsclient
from bench.baseline import module_at
from bench.client import ClientSpec, client_id_for
from realtime.wire.frames import ops_frame_from_entries, split_ops_frame
from realtime.wire.handles import HandleTable, encode_cont, encode_defs, encode_delivery
from tests.support.refclient import entry_seqs

#: bench/ before the per-frame receive path.
BASELINE_REV = "c489eca"
RING_SIZE = 2048
#: The author user id every bench client shares.
USER_ID = 1
_SYNCED = b'{"type": "synced", "seq": 0}'


def load_baseline(rev: str) -> types.ModuleType:
    """
    Import bench/client.py as of `rev`, wired to that revision's hist.py and wsclient.py.
    """
    loaded: dict[str, types.ModuleType] = {}
    for name in ("hist", "wsclient", "client"):
        module = module_at(rev, f"bench/{name}.py", f"bench._{name}_{rev}")
        loaded[name] = module
    client = loaded["client"]
    # The names it imported resolve at call time: point them at the same revision.
    client.__dict__["Histogram"] = loaded["hist"].__dict__["Histogram"]
    client.__dict__["WsClient"] = loaded["wsclient"].__dict__["WsClient"]
    client.__dict__["wsclient_module"] = loaded["wsclient"]
    return client


class FakeTransport:
    """
    Swallows writes: the receivers' only outgoing bytes are the handshake and pongs.
    """

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def server_frame(payload: bytes, opcode: int = 2) -> bytes:
    """
    Return a server (unmasked, FIN) frame carrying payload.
    """
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


class Board:
    """
    The stream of B's `ops` frames: drawers' ops, sequenced and encoded like the server does.
    """

    def __init__(self, ring: memoryview, drawers: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seq = 0
        stats = new_client.Stats()
        self.senders = [
            new_client.BenchClient(ClientSpec("/", 0, 0, slot, draw=True), stats, ring,
                                   RING_SIZE, "inkroom", 4, False, protocol=1)
            for slot in range(drawers)
        ]  # fmt: skip

    def tick(self) -> tuple[bytes, list[tuple[int, int]]]:
        """
        Return one tick's `ops` frame and its (slot, op id) pairs; ~12 of 20 drawers sent.
        """
        entries, keys = [], []
        for sender in self.senders:
            # 30 Hz senders, 20 ms ticks: each is in a given tick with probability 0.6.
            if self.rng.random() < 0.6:
                op = msgpack.unpackb(sender.next_frame()[0])["ops"][0]
                entries.append(self.entry(op, client_id_for(sender.spec.slot)))
                keys.append((sender.spec.slot, op["i"]))
        return ops_frame_from_entries(entries), keys

    def entry(self, op: dict[str, Any], client_id: str) -> bytes:
        # board/oplog/sequence.py: the op plus s, c and u.
        self.seq += 1
        packed: bytes = msgpack.packb({**op, "s": self.seq, "c": client_id, "u": USER_ID})
        return packed


def receivers(mod: types.ModuleType, ring: memoryview, n: int, workers: int) -> list[Any]:
    """
    One worker's share of the board's clients, handshaken and synced on fake transports.
    """
    stats = mod.Stats()
    extra = {"decoder": mod.FrameDecoder(ring, RING_SIZE)} if hasattr(mod, "FrameDecoder") else {}
    out = []
    for slot in range(0, n * workers, workers):
        spec = ClientSpec("/", 0, 0, slot, draw=slot < 20)
        c = mod.BenchClient(spec, stats, ring, RING_SIZE, "inkroom", 4, False, **extra)
        c.ws.connection_made(FakeTransport())
        c.ws.data_received(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
        c.ws.data_received(server_frame(_SYNCED, opcode=1))
        c.counting = True
        out.append(c)
    return out


def stamp(ring: memoryview, keys: list[tuple[int, int]], now_us: int, rng: random.Random) -> None:
    """
    Write send times 5-40 ms before now_us for these ops (B's latencies are in that range).
    """
    for slot, i in keys:
        ring[slot * RING_SIZE + (i & (RING_SIZE - 1))] = now_us - rng.randint(5_000, 40_000)


# --- equivalence -------------------------------------------------------------------------


class FakeClock:
    """
    Stands in for time.monotonic_ns in both wsclient modules during the equivalence replay.
    """

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns


def irregular_script(
    ring: memoryview, n: int, workers: int, ticks: int, seed: int, *, v2: bool = False
) -> list[tuple[int, int, bytes]]:
    """
    Return (clock ns, receiver index, bytes read) for a stream with every irregularity.

    With `v2`, each `ops` frame goes as the server's DOWN_OPS frame of the same entries, after
    a DEFS frame restating every name it uses and a CONT frame restating the continuations
    (receivers miss frames here, and with them inline definitions and continuations; a real
    socket that misses a frame resyncs and gets the whole table in DEFS and CONT frames when its
    live stream restarts).
    """
    rng = random.Random(seed)
    board = Board(ring, 20, seed)
    table = HandleTable()
    script: list[tuple[int, int, bytes]] = []
    held: dict[int, bytes] = {}
    base = 10**12
    for t in range(ticks):
        now = base + t * 20_000_000
        payload, keys = board.tick()
        extra = []
        if t % 17 == 5:
            # A foreign author.
            extra.append(board.entry({"i": 1, "k": "app", "id": "x", "p": [1, 1]}, "someone-else"))
        if t % 19 == 3 and keys:
            # A drawer's old op stored again under a new seq.
            slot, i = keys[0]
            old = {"i": max(1, i - 3), "k": "app", "id": "y", "p": [2, 2]}
            extra.append(board.entry(old, client_id_for(slot)))
        if extra:
            entries = msgpack.unpackb(payload)["ops"]
            payload = ops_frame_from_entries([msgpack.packb(e) for e in entries] + extra)
        offsets = (-3_000, 2_500_000) if t % 23 == 7 else (5_000, 40_000)
        for slot, i in keys:
            ring[slot * RING_SIZE + (i & (RING_SIZE - 1))] = now // 1000 - rng.randint(*offsets)
        wire = server_frame(payload)
        if v2:
            names: list[tuple[int, str, bool]] = []
            conts = table.continuations()
            frame = encode_delivery(
                table, entry_seqs(payload)[0], split_ops_frame(payload), names=names
            )
            restated = [(h, name) for h, name, _ in names]
            wire = server_frame(encode_defs(restated))
            if conts:  # the restated names' continuations, which DEFS clears
                wire += server_frame(encode_cont(conts))
            wire += server_frame(frame)
        for r in range(n):
            roll = rng.random()
            data = held.pop(r, b"") + wire
            if roll < 0.02:
                continue  # a gap
            if roll < 0.04:
                data += wire  # the same frame twice
            elif roll < 0.06:
                held[r] = data  # coalesced with the next tick's read
                continue
            elif roll < 0.08:
                # Not randint: its draws depend on the range, which v1 and v2 frames differ in.
                cut = 1 + int(rng.random() * (len(data) - 1))
                script.append((now, r, data[:cut]))
                data = data[cut:]
            elif roll < 0.09 and keys:
                ack = msgpack.packb({"t": "ack", "a": [[keys[0][1], board.seq]]})
                data += server_frame(ack) + server_frame(b"hi", opcode=9)
            script.append((now, r, data))
    return script


def final_state(clients: list[Any]) -> dict[str, Any]:
    """
    Everything the accounting produced: shared stats and each client's state.
    """
    stats = clients[0].stats
    return {
        "counts": dict(stats.counts),
        "latency": stats.latency.to_state(),
        "ack": stats.ack.to_state(),
        "clients": [
            (c.last_seq, c.ack_hwm, dict(c.hwm), c.ws.frames_in, c.ws.bytes_in) for c in clients
        ],
    }


def replay(
    mod: types.ModuleType,
    ws_mod: types.ModuleType,
    script: list[tuple[int, int, bytes]],
    ring: memoryview,
    n: int,
    workers: int,
) -> dict[str, Any]:
    """
    Feed a script to fresh receivers on a fake clock; return their final state.
    """
    clock = FakeClock()
    saved = ws_mod.monotonic_ns
    ws_mod.monotonic_ns = clock
    try:
        clients = receivers(mod, ring, n, workers)
        for now, r, data in script:
            clock.now_ns = now
            clients[r].ws.data_received(data)
        return final_state(clients)
    finally:
        ws_mod.monotonic_ns = saved


def _differ(a: dict[str, Any], b: dict[str, Any]) -> str:
    return str({k: (a[k], b[k]) for k in a if a[k] != b[k]})[:2000]


def check_equivalence(
    old: types.ModuleType, ring: memoryview, n: int, workers: int, ticks: int, seed: int
) -> int:
    """
    Replay one irregular stream through both paths; raise if any figure differs.
    """
    script = irregular_script(ring, n, workers, ticks, seed)
    before = replay(old, old.__dict__["wsclient_module"], script, ring, n, workers)
    now = replay(new_client, new_wsclient, script, ring, n, workers)
    # Counters added since (v2's DEFS frames) are not the old path's business.
    now["counts"] = {k: v for k, v in now["counts"].items() if k in before["counts"]}
    if before != now:
        raise AssertionError(f"old and new receive paths disagree: {_differ(before, now)}")
    return int(now["counts"]["delivered"])


def check_v2_equivalence(ring: memoryview, n: int, workers: int, ticks: int, seed: int) -> int:
    """
    Replay the same irregular stream as v1 `ops` and as v2 DEFS + DOWN_OPS frames through the
    current path; raise if any figure but the byte counts differs.
    """
    states = []
    for v2 in (False, True):
        script = irregular_script(ring, n, workers, ticks, seed, v2=v2)
        state = replay(new_client, new_wsclient, script, ring, n, workers)
        for key in ("ops_bytes_in", "defs_frames_in", "defs_bytes_in"):
            del state["counts"][key]
        # frames_in and bytes_in per client count the DEFS frames too.
        state["clients"] = [c[:3] for c in state["clients"]]
        states.append(state)
    if states[0] != states[1]:
        raise AssertionError(f"v1 and v2 accounting disagree: {_differ(*states)}")
    return int(states[0]["counts"]["delivered"])


# --- timing ------------------------------------------------------------------------------


def time_receive(
    variants: dict[str, types.ModuleType], ring: memoryview, args: argparse.Namespace
) -> dict[str, float]:
    """
    Return CPU µs per delivery for each variant, chunks interleaved in alternating order.

    The variant named "v2" receives the same ticks as the server's DOWN_OPS frames.
    """
    board = Board(ring, args.drawers, args.seed)
    table = HandleTable()
    clients = {
        name: receivers(mod, ring, args.receivers, args.workers) for name, mod in variants.items()
    }
    cpu = dict.fromkeys(variants, 0)
    names = list(variants)
    for chunk in range(args.ticks // args.chunk):
        frames = [board.tick() for _ in range(args.chunk)]
        compact = [
            encode_delivery(table, entry_seqs(payload)[0], split_ops_frame(payload))
            for payload, _ in frames
        ]
        order = names if chunk % 2 == 0 else names[::-1]
        for name in order:
            rng = random.Random(chunk)
            for _, keys in frames:
                stamp(ring, keys, time.monotonic_ns() // 1000, rng)
            payloads = compact if name == "v2" else [payload for payload, _ in frames]
            wires = [server_frame(payload) for payload in payloads]
            reads = [c.ws.data_received for c in clients[name]]
            t0 = time.thread_time_ns()
            for wire in wires:
                for read in reads:
                    read(wire)
            cpu[name] += time.thread_time_ns() - t0
    out = {}
    for name in names:
        delivered = clients[name][0].stats.counts["delivered"]
        out[name] = cpu[name] / 1000 / delivered
    return out


def time_send(
    variants: dict[str, types.ModuleType], ring: memoryview, ops: int
) -> dict[str, float]:
    """
    Return CPU µs per op for building and framing a drawer's op (next_frame + send_binary).
    """
    senders = {}
    for name, mod in variants.items():
        # v1 frames but for "v2" (UP_ADD, UP_APP): old and new differ only in the points' source.
        extra = {"protocol": 2 if name == "v2" else 1} if mod is new_client else {}
        c = mod.BenchClient(ClientSpec("/", 0, 0, 0, draw=True), mod.Stats(), ring, RING_SIZE,
                            "inkroom", 4, False, **extra)  # fmt: skip
        c.ws.connection_made(FakeTransport())
        senders[name] = c
    cpu = dict.fromkeys(variants, 0)
    for rnd in range(10):
        for name in list(variants)[:: 1 if rnd % 2 == 0 else -1]:
            c = senders[name]
            t0 = time.thread_time_ns()
            for _ in range(ops // 10):
                c.ws.send_binary(c.next_frame()[0])
            cpu[name] += time.thread_time_ns() - t0
    return {name: ns / 1000 / ops for name, ns in cpu.items()}


async def _main(args: argparse.Namespace) -> None:
    # WsClient wants a running loop (its futures); the replay itself never awaits.
    old = load_baseline(args.baseline)
    variants = {"old": old, "new": new_client, "v2": new_client}
    ring_bytes = bytearray(8 * RING_SIZE * 256)
    ring = memoryview(ring_bytes).cast("q")
    checked = check_equivalence(old, ring, args.receivers, args.workers, 300, args.seed)
    print(f"equivalence: {checked} deliveries of an irregular stream, identical figures")
    ring_bytes[:] = bytes(len(ring_bytes))
    checked = check_v2_equivalence(ring, args.receivers, args.workers, 300, args.seed)
    print(f"v1 vs v2 frames: {checked} deliveries, identical figures but bytes")
    ring_bytes[:] = bytes(len(ring_bytes))
    recv = time_receive(variants, ring, args)
    send = time_send(variants, ring, args.send_ops)
    print(f"receive, CPU µs per delivery ({args.receivers} receivers, {args.drawers} drawers, "
          f"{args.ticks} ticks):")  # fmt: skip
    for name, us in recv.items():
        print(f"  {name:4} {us:6.3f}   x{us / recv['old']:.2f}")
    print(f"send, CPU µs per op ({args.send_ops} ops):")
    for name, us in send.items():
        print(f"  {name:4} {us:6.3f}   x{us / send['old']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay_micro", description=__doc__)
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the old path")
    parser.add_argument("--receivers", type=int, default=100, help="clients in this worker")
    parser.add_argument("--workers", type=int, default=2, help="workers sharing the board")
    parser.add_argument("--drawers", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=2000, help="20 ms ticks replayed")
    parser.add_argument("--chunk", type=int, default=50, help="ticks per interleaved chunk")
    parser.add_argument("--send-ops", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(_main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
