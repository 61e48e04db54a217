"""
The direct send path (realtime.server.direct): our framing is wsproto's, byte for byte, and an
SendQueue under a real Hypercorn writes through the transport, in order, with the close frame last.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.protocol.events import Data
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, TextMessage
from wsproto.frame_protocol import FrameProtocol, Opcode

from realtime.engine import lazy
from realtime.engine.sender import SENT, Bulk, SendQueue
from realtime.server import hypercorn_patches
from realtime.server.direct import CORK_MAX_BYTES, DirectSocket, direct_socket, receive_directly
from realtime.server.hypercorn_patches import install_hypercorn_patches
from realtime.server.wsframes import frame, parse_binary_frames

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


@pytest.mark.parametrize("size", SIZES)
def test_frames_match_wsproto(size: int) -> None:
    server = Connection(ConnectionType.SERVER)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert frame(payload) == server.send(BytesMessage(data=payload))
    text = "é" * (size // 2) + "x" * (size % 2)
    assert frame(text) == server.send(TextMessage(data=text))


async def _accepted(scope: dict[str, Any], receive: Any, send: Any) -> bool:
    """
    Accept a WebSocket scope (False for the others, e.g. lifespan).
    """
    if scope["type"] != "websocket":
        return False
    await receive()
    await send({"type": "websocket.accept"})
    return True


@contextlib.asynccontextmanager
async def _hypercorn(app: Any) -> AsyncIterator[int]:
    """
    Serve `app` with Hypercorn (our patches installed) in this loop; yield its port.
    """
    install_hypercorn_patches()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.websocket_max_message_size = 4 * 1024 * 1024
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            await asyncio.sleep(0.02)
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(server, 5)


async def test_send_queue_writes_through_hypercorn_in_order_then_closes() -> None:
    """
    Small frames (written at once), a 2 MiB catch-up frame (buffered by the transport, so the
    frames after it queue behind it) and text frames all arrive in push order, then 4008.
    """
    big = Bulk(b"\xab" * (2 * 1024 * 1024))
    frames: list[bytes | str] = [b"one", "two", big, b"four", "five" * 1000, b""]
    used_direct: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not await _accepted(scope, receive, send):
            return
        used_direct.append(direct_socket(send) is not None)
        queue = SendQueue(send, max_frames=100, max_bytes=1 << 20)
        for item in frames:
            queue.push(item)
        queue.close(4008)
        await queue.wait_closed(5)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    received: list[bytes | str] = []
    sent_before = SENT.frames
    async with _hypercorn(app) as port, connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                received.append(message)
        close_code = ws.close_code
    assert used_direct == [True]
    assert received == [bytes(item) if isinstance(item, bytes) else item for item in frames]
    assert close_code == 4008
    assert SENT.frames - sent_before == len(frames)


async def test_no_direct_path_outside_hypercorn() -> None:
    async def send(message: dict[str, Any]) -> None:
        pass

    assert direct_socket(send) is None
    assert not receive_directly(send, lambda message: None)


async def test_direct_receiver_keeps_message_order() -> None:
    """
    Messages queued before the receiver is set are still received first; later ones arrive
    through the receiver; the disconnect comes after all of them.
    """
    install_hypercorn_patches()
    count = 400
    got: list[tuple[str, bytes]] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not await _accepted(scope, receive, send):
            return
        await asyncio.sleep(0.2)  # the client's first messages queue up meanwhile
        assert receive_directly(send, lambda message: got.append(("direct", message["bytes"])))
        while (message := await receive())["type"] != "websocket.disconnect":
            got.append(("queued", message["bytes"]))
        done.set()

    async with _hypercorn(app) as port:
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            for n in range(count):
                await ws.send(n.to_bytes(2, "big"))
                if n % 50 == 49:
                    await asyncio.sleep(0.1)
        await asyncio.wait_for(done.wait(), 5)
    assert [int.from_bytes(data, "big") for _, data in got] == list(range(count))
    assert {how for how, _ in got} == {"direct", "queued"}


def _client_frames(*messages: bytes, opcode: Opcode = Opcode.BINARY, fin: bool = True) -> bytes:
    proto = FrameProtocol(client=True, extensions=[])
    return b"".join(bytes(proto._serialize_frame(opcode, m, fin=fin)) for m in messages)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 4000, 65535])
def test_parse_binary_frames_reads_what_a_client_sends(size: int) -> None:
    payloads = [bytes([size % 251]) * size, b"next", b""]
    assert parse_binary_frames(_client_frames(*payloads), 65535) == payloads


@pytest.mark.parametrize(
    "chunk",
    [
        _client_frames(b"x" * 10)[:-1],  # a frame split across reads
        _client_frames(b"x" * 65536),  # above the limit (8-byte length)
        _client_frames(b"text", opcode=Opcode.TEXT),
        _client_frames(b"", opcode=Opcode.PING),
        _client_frames(b"part", fin=False),
        _client_frames(b"ok") + _client_frames(b"", opcode=Opcode.CLOSE),
        bytes([0x82, 0x03]) + b"abc",  # unmasked
        bytes([0xC2, 0x83]) + b"mask" + b"abc",  # RSV1 (compressed)
    ],
)
def test_parse_binary_frames_leaves_everything_else_to_wsproto(chunk: bytes) -> None:
    assert parse_binary_frames(chunk, 65535) is None


async def test_mixed_reads_keep_order_and_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Whole binary frames take the shortcut; a split frame, a ping, a fragmented message and a
    text frame go through wsproto; every message arrives once, in order, intact.
    """
    fast_chunks = []

    def counting(data: bytes, limit: int) -> list[bytes] | None:
        payloads = parse_binary_frames(data, limit)
        if payloads is not None:
            fast_chunks.append(len(payloads))
        return payloads

    monkeypatch.setattr(hypercorn_patches, "parse_binary_frames", counting)
    through_hypercorn = []
    handle = hypercorn_patches.InkroomWSStream.handle

    async def counting_handle(self: Any, event: Any) -> None:
        if type(event) is Data:
            through_hypercorn.append(event.data)
        await handle(self, event)

    monkeypatch.setattr(hypercorn_patches.InkroomWSStream, "handle", counting_handle)
    got: list[bytes | str] = []
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not await _accepted(scope, receive, send):
            return
        receive_directly(send, lambda message: got.append(message.get("bytes") or message["text"]))
        while (message := await receive())["type"] != "websocket.disconnect":
            got.append(message.get("bytes") or message["text"])
        done.set()

    split = _client_frames(b"c" * 300)
    chunks = [
        _client_frames(b"a", b"b"),
        split[:100],
        split[100:] + _client_frames(b"d"),
        _client_frames(b"", opcode=Opcode.PING) + _client_frames(b"e"),
        _client_frames(b"f1", fin=False),
        _client_frames(b"f2", opcode=Opcode.CONTINUATION) + _client_frames(b"g"),
        _client_frames(b"h", opcode=Opcode.TEXT),
        _client_frames(b"i", b"j"),
    ]
    async with _hypercorn(app) as port:
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await asyncio.sleep(0.1)  # the app sets its receiver
            for chunk in chunks:
                ws.transport.write(chunk)
                await asyncio.sleep(0.05)
        await asyncio.wait_for(done.wait(), 5)
    assert got == [b"a", b"b", b"c" * 300, b"d", b"e", b"f1f2", b"g", "h", b"i", b"j"]
    assert fast_chunks == [2, 2]  # "a b" and "i j"; the rest went through wsproto
    # Those two never reached Hypercorn's reading task: the transport callback delivered them.
    # Hypercorn read the others, then the client's close frame.
    assert through_hypercorn[:-1] == chunks[1:-1]


async def test_corked_frames_keep_push_order_through_hypercorn() -> None:
    """
    A join's frames pushed in one corked block (small ones, a catch-up beyond the cork's bound,
    more small ones) and frames pushed after it arrive whole and in push order.
    """
    big = Bulk(b"\xcd" * (CORK_MAX_BYTES * 3))
    corked: list[bytes | str] = ["hello", b"op", big, b"after-big", '{"type":"synced"}']
    later: list[bytes | str] = [b"live", "text"]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not await _accepted(scope, receive, send):
            return
        queue = SendQueue(send, max_frames=100, max_bytes=1 << 20)
        with queue.corked():
            for item in corked:
                queue.push(item)
        for item in later:
            queue.push(item)
        queue.close(1000)
        await queue.wait_closed(5)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    received: list[bytes | str] = []
    async with _hypercorn(app) as port, connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                received.append(message)
    assert received == [bytes(m) if isinstance(m, bytes) else m for m in corked + later]


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def get_extra_info(self, name: str) -> None:
        return None

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


def _direct_on(transport: _Transport) -> DirectSocket:
    from types import SimpleNamespace

    from realtime.server import direct

    stream = SimpleNamespace(closed=False, state=direct._CONNECTED, corked=None)
    return DirectSocket(stream, SimpleNamespace(transport=transport))  # type: ignore[arg-type]


def test_a_cork_writes_its_frames_in_one_write_and_none_once_closed() -> None:
    transport = _Transport()
    sock = _direct_on(transport)
    sock.cork()
    sock.write("hello")
    sock.write(b"synced")
    assert transport.writes == []
    sock.uncork()
    assert transport.writes == [frame("hello") + frame(b"synced")]
    sock.write(b"live")  # uncorked: at once
    assert transport.writes[-1] == frame(b"live")
    # Past CORK_MAX_BYTES what is kept goes out, in order, before the block ends.
    transport.writes.clear()
    sock.cork()
    sock.write(b"a")
    sock.write(b"b" * CORK_MAX_BYTES)
    sock.write(b"c")
    assert transport.writes == [frame(b"a") + frame(b"b" * CORK_MAX_BYTES)]
    sock.uncork()
    assert transport.writes[-1] == frame(b"c")
    # The connection closed meanwhile: nothing kept is written.
    transport.writes.clear()
    sock.cork()
    sock.write(b"x")
    transport.closing = True
    sock.uncork()
    assert transport.writes == []


class _WriteSpy:
    """
    A transport that records each write (one send system call) and passes everything on.
    """

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _lazy_session(script: Any) -> tuple[list[bytes | str], int | None, list[bytes]]:
    """
    Serve one socket whose SendQueue `script(queue)` drives; return what the client received,
    the close code, and the transport writes the server made.
    """
    spies: list[_WriteSpy] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not await _accepted(scope, receive, send):
            return
        queue = SendQueue(send, max_frames=100, max_bytes=1 << 20)
        direct = queue._direct
        assert direct is not None
        spy = _WriteSpy(direct._transport)
        direct._transport = spy
        spies.append(spy)
        await script(queue)
        await queue.wait_closed(5)
        while (await receive())["type"] != "websocket.disconnect":
            pass

    received: list[bytes | str] = []
    async with _hypercorn(app) as port, connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                received.append(message)
        close_code = ws.close_code
    return received, close_code, spies[0].writes


async def test_a_lazy_frame_goes_out_with_the_next_frame_in_one_write() -> None:
    async def script(queue: SendQueue) -> None:
        queue.push(b"tent-1")
        queue.push_lazy(b"entries-1")
        await asyncio.sleep(0)  # nothing else is pushed yet: the lazy frame waits
        queue.push(b"tent-2")
        queue.close(4000)

    received, code, writes = await _lazy_session(script)
    assert received == [b"tent-1", b"entries-1", b"tent-2"]
    assert code == 4000
    # One write for the first frame, then the lazy frame and the next one together.
    assert writes[:2] == [frame(b"tent-1"), frame(b"entries-1") + frame(b"tent-2")]


async def test_a_lazy_frame_alone_goes_out_after_lazy_secs() -> None:
    seen: list[int] = []

    async def script(queue: SendQueue) -> None:
        queue.push_lazy(b"entries")
        await asyncio.sleep(0)
        seen.append(len(writes_of(queue)))
        await asyncio.sleep(lazy.LAZY_SECS * 3)
        seen.append(len(writes_of(queue)))
        queue.close(4000)

    def writes_of(queue: SendQueue) -> list[bytes]:
        assert queue._direct is not None
        spy = queue._direct._transport
        assert isinstance(spy, _WriteSpy)
        return spy.writes

    received, code, writes = await _lazy_session(script)
    assert received == [b"entries"] and code == 4000
    assert seen == [0, 1]
    assert writes[0] == frame(b"entries")


async def test_a_closing_socket_still_gets_its_lazy_frames_first() -> None:
    async def script(queue: SendQueue) -> None:
        queue.push_lazy(b"entries-1")
        queue.push_lazy(b"entries-2")
        queue.close(4008)

    received, code, _ = await _lazy_session(script)
    assert received == [b"entries-1", b"entries-2"]
    assert code == 4008


async def test_lazy_frames_are_written_at_once_without_a_direct_path() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    queue = SendQueue(send, max_frames=100, max_bytes=1 << 20)
    queue.push_lazy(b"entries")
    for _ in range(3):
        await asyncio.sleep(0)
    assert sent == [{"type": "websocket.send", "bytes": b"entries"}]
    queue.cancel()
