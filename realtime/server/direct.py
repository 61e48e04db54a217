"""
Writing WebSocket frames straight to a socket's transport, past Hypercorn's per-message path.

An ASGI `websocket.send` through Hypercorn 0.18 costs, per frame, a wsproto event, wsproto's
framing, two protocol dispatch layers, a lock and a drain, all in Python. The hub sends the same
pre-encoded frame to every socket of a board each tick, so with many small boards that path would be
the largest single cost of a process (docs/performance.md §3). A server-to-client frame needs no
mask and no state beyond "the connection is open", so we frame it (realtime.server.wsframes) and
`write()` it to the transport: one concatenation and one non-blocking socket write.

What stays with Hypercorn: the handshake, pings, and the close frame (the send queue
closes through ASGI `websocket.close`, which also moves Hypercorn's and wsproto's state). Writes
go to the same transport in call order, so frames written here and Hypercorn's own frames never
interleave within a frame and keep their order.

Reads: `receive_directly` lets the consumer take each complete message in the reading task
rather than through Hypercorn's queue and its own receive loop; with a receiver set, chunks of
plain binary frames are also parsed without wsproto (InkroomWSStream), straight from the
transport's data callback while Hypercorn's reading task is idle.

`DirectSocket.waiting()` and `acked()` read how much of what was written still waits for the
peer and how much the peer has acknowledged (Linux `TIOCOUTQ` and `TCP_INFO`), so the send queue
can tell a reader that stopped (its TCP window shut) from a slow one long before small frames
fill the kernel's buffer.

`direct_socket(send)` finds the transport behind an ASGI `send` that is Hypercorn's HTTP/1.1
WebSocket stream (the patched class installed by realtime.server.serve); for anything else (HTTP/2,
Daphne, Channels' test communicator) it returns None and the caller keeps using `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from collections.abc import Callable
from typing import Any

from hypercorn.protocol.ws_stream import ASGIWebsocketState

from realtime.server.hypercorn_patches import InkroomWSStream
from realtime.server.wsframes import frame

_CONNECTED = ASGIWebsocketState.CONNECTED
#: Linux: bytes in a TCP socket's send queue not yet acknowledged (SIOCOUTQ).
_OUTQ = getattr(termios, "TIOCOUTQ", None)
_TCP_INFO = getattr(socket, "TCP_INFO", None)
#: Linux's struct tcp_info: tcpi_bytes_acked (u64) since kernel 4.1, at this offset.
_BYTES_ACKED = struct.Struct("=Q")
_BYTES_ACKED_AT = 120


#: Frames held by a cork (`cork_socket`) are written once they reach this many bytes.
CORK_MAX_BYTES = 64 * 1024


class DirectSocket:
    """
    The transport of one open Hypercorn WebSocket, for frames written without the ASGI send.
    """

    __slots__ = ("_sock", "_stream", "_transport", "_writer")

    def __init__(self, stream: Any, writer: asyncio.StreamWriter) -> None:
        self._stream = stream
        self._writer = writer
        self._transport = writer.transport
        self._sock = self._transport.get_extra_info("socket")

    def waiting(self) -> int | None:
        """
        Bytes written but not yet acknowledged by the peer (ours and the kernel's buffers), or
        None where the platform cannot tell (not Linux, not TCP).
        """
        sock = self._sock
        if sock is None or _OUTQ is None or _TCP_INFO is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
            return self._transport.get_write_buffer_size() + int(queued)
        return None

    def acked(self) -> int | None:
        """
        Bytes the peer has acknowledged on this connection so far (None: cannot tell).
        """
        with contextlib.suppress(OSError, ValueError, AttributeError):
            info = self._sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 256)
            if len(info) >= _BYTES_ACKED_AT + 8:
                return int(_BYTES_ACKED.unpack_from(info, _BYTES_ACKED_AT)[0])
        return None

    @property
    def open(self) -> bool:
        """
        False once Hypercorn saw the connection close or the app sent its close frame.
        """
        return (
            not self._stream.closed
            and self._stream.state is _CONNECTED
            and not (self._transport.is_closing())
        )

    @property
    def idle(self) -> bool:
        """
        True when nothing waits in the transport's buffer: a write now goes out at once.
        """
        return self._transport.get_write_buffer_size() == 0

    def write(self, message: bytes | str) -> None:
        """
        Hand one frame to the transport (buffered there if the socket cannot take it now).

        Raises ConnectionResetError once the connection is no longer open.
        """
        if not self.open:
            raise ConnectionResetError("the WebSocket is closed")
        held = self._stream.corked
        if held is None:
            self._transport.write(frame(message))
            return
        held.append(frame(message))
        if len(held) > 1 and sum(map(len, held)) > CORK_MAX_BYTES:
            # A long catch-up: hand what is held to the transport now, so that `idle` turns
            # false once the socket's buffer fills and the send queue's bounds apply again.
            self._transport.write(b"".join(held))
            held.clear()

    def cork(self) -> None:
        """
        Hold what is written to this socket from now on until `uncork` (see `cork_socket`).
        """
        _cork(self._stream, self._writer)

    def uncork(self) -> None:
        """
        Write what was held since `cork` in one transport write, and stop holding.
        """
        _uncork(self._stream, self._writer)

    def write_many(self, messages: list[bytes | str]) -> None:
        """
        Hand several frames to the transport in one write (one send system call).
        """
        if self._stream.corked is not None:
            for message in messages:
                self.write(message)
            return
        if not self.open:
            raise ConnectionResetError("the WebSocket is closed")
        self._transport.write(b"".join([frame(m) for m in messages]))

    async def drain(self) -> None:
        """
        Wait until the transport's buffer is below its high-water mark.
        """
        await self._writer.drain()


def cork_socket(send: Callable[..., Any]) -> Callable[[], None]:
    """
    Hold every write to the socket behind `send`, Hypercorn's (the handshake's `101`, a close
    frame) and ours, until the returned function is called (or a DirectSocket's `uncork`); then
    write them in one transport write, in the order they were made. Nothing happens where
    `send` is not Hypercorn's HTTP/1.1 WebSocket stream.

    A join writes the `101`, `hello` and, from memory, its catch-up and `synced`: one socket
    write and one packet instead of three (each a `send()` system call and, on loopback, the
    receiver's TCP work too). Hypercorn writes through the connection's StreamWriter, whose
    `write` is shadowed on the instance while corked (Hypercorn 0.18's TCPServer.protocol_send;
    StreamWriter.write only calls the transport's). Hold only between a few awaits that do not
    wait on the peer: the peer gets nothing meanwhile.
    """
    stream = getattr(send, "__self__", None)
    if not isinstance(stream, InkroomWSStream):
        return lambda: None
    writer = getattr(_tcp_server(stream), "writer", None)
    if not isinstance(writer, asyncio.StreamWriter):
        return lambda: None
    _cork(stream, writer)
    return lambda: _uncork(stream, writer)


def _cork(stream: Any, writer: asyncio.StreamWriter) -> None:
    if stream.corked is None:
        held: list[bytes] = []
        stream.corked = held
        writer.write = held.append  # type: ignore[method-assign,assignment]


def _uncork(stream: Any, writer: asyncio.StreamWriter) -> None:
    held = stream.corked
    if held is None:
        return
    stream.corked = None
    writer.__dict__.pop("write", None)  # StreamWriter.write again
    if held and not writer.transport.is_closing():
        writer.transport.write(b"".join(held))


def receive_directly(send: Callable[..., Any], receiver: Callable[[dict[str, Any]], None]) -> bool:
    """
    Have the Hypercorn stream behind `send` call `receiver` with each complete message, in its
    reading task, instead of queueing it for `receive()`; False where there is no such stream.

    The receiver must not block: it runs between two reads of the socket. Set it only from the
    task that calls `receive()`, between messages (InkroomWSStream keeps the order that way).
    """
    stream = getattr(send, "__self__", None)
    if not isinstance(stream, InkroomWSStream):
        return False
    stream.receiver = receiver
    server = _tcp_server(stream)
    reader = getattr(server, "reader", None)
    if isinstance(reader, asyncio.StreamReader) and hasattr(reader, "_waiter"):
        _feed_directly(reader, stream)
    return True


def _feed_directly(reader: asyncio.StreamReader, stream: InkroomWSStream) -> None:
    """
    Let chunks the transport delivers skip Hypercorn's reading task when it is idle.

    Each read otherwise costs a StreamReader buffer, a future, a task wake-up and Hypercorn's
    TCPServer → H11Protocol → WSStream dispatch before the frames are even parsed. The
    chunk is handed to `stream.take_fast_path` right in the transport's callback only when
    Hypercorn's task waits in `read()` with nothing buffered: it has finished with everything
    read before, so nothing is overtaken. Otherwise, or when the chunk is not plain binary
    frames, it is buffered for Hypercorn as usual. Reads StreamReader's private `_waiter` and
    `_buffer` (CPython 3.11 to 3.13).
    """
    feed = reader.feed_data

    def feed_data(data: bytes) -> None:
        waiter = reader._waiter  # type: ignore[attr-defined]
        if (
            waiter is not None
            and not waiter.done()
            and not reader._buffer  # type: ignore[attr-defined]
            and stream.take_fast_path(data)
        ):
            return
        feed(data)

    reader.feed_data = feed_data  # type: ignore[method-assign,assignment]


def _tcp_server(stream: InkroomWSStream) -> Any:
    """
    Hypercorn's TCPServer behind a stream: its `send` is H11Protocol.stream_send, whose
    protocol's `send` is TCPServer.protocol_send (Hypercorn 0.18, pinned). None if not so.
    """
    h11 = getattr(stream.send, "__self__", None)
    return getattr(getattr(h11, "send", None), "__self__", None)


def direct_socket(send: Callable[..., Any]) -> DirectSocket | None:
    """
    The DirectSocket behind `send` when it is Hypercorn's HTTP/1.1 WebSocket stream, else None.

    The TCPServer behind the stream (see `_tcp_server`) owns the StreamWriter. Any link missing
    (another server, HTTP/2) means None: the plain ASGI path is always correct.
    """
    stream = getattr(send, "__self__", None)
    if not isinstance(stream, InkroomWSStream):
        return None
    writer = getattr(_tcp_server(stream), "writer", None)
    if not isinstance(writer, asyncio.StreamWriter):
        return None
    return DirectSocket(stream, writer)
