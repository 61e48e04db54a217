"""
Load-generator clients wired to fake transports, for the receive-path tests: a client has done
its handshake and seen `synced`, and counts what it receives from then on.
"""

from __future__ import annotations

from bench.client import BenchClient, ClientSpec, FrameDecoder, Stats
from bench.replay_micro import FakeTransport, server_frame

RING_SIZE = 1024
#: The fake clock's time (µs) while frames are received.
NOW_US = 5_000_000
HANDSHAKE = b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
SYNCED = server_frame(b'{"type": "synced", "seq": 0}', opcode=1)


def connected_client(
    ring: memoryview, slot: int, decoder: FrameDecoder, stats: Stats, *, protocol: int = 1
) -> BenchClient:
    """
    A client in `slot` speaking `protocol`, past its handshake and `synced`, counting.
    """
    spec = ClientSpec("/", 0, 0, slot)
    c = BenchClient(spec, stats, ring, RING_SIZE, "inkroom", 4, False, decoder, protocol=protocol)
    c.ws.connection_made(FakeTransport())  # type: ignore[arg-type]
    c.ws.data_received(HANDSHAKE)
    c.ws.data_received(SYNCED)
    c.counting = True
    return c
