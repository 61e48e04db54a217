"""
A minimal RFC 6455 WebSocket client on asyncio.Protocol: the load generator's transport.

Why not the `websockets` client: its asyncio connection runs a reader task, an assembler and
a queue per frame, which costs tens of microseconds per frame; with a 2-core box shared with
the server, the load generator must spend as little as possible per frame so that the figures
describe the server. Here a frame costs one header parse and one callback: frames are sliced
straight out of the bytes each read returns (only an incomplete tail is buffered until the rest
arrives), and a whole unfragmented data frame goes to the callback directly. It speaks just what
the bench needs: one handshake (optionally offering permessage-deflate like a browser does,
so servers that accept it are measured with it), unfragmented or fragmented data frames,
ping/pong and close. Every byte read or written is counted, headers included.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import zlib
from collections.abc import Callable
from time import monotonic_ns

from websockets.speedups import apply_mask

#: What a browser offers (Chromium sends exactly this); servers may accept or ignore it.
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"
_DEFLATE_TAIL = b"\x00\x00\xff\xff"
_OP_CONT, _OP_TEXT, _OP_BIN, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10

#: Callback signature: (client, is_text, payload, receive time in ns).
OnMessage = Callable[["WsClient", bool, bytes, int], None]


class HandshakeError(Exception):
    """
    The server answered the upgrade with something other than 101.
    """


class WsClient(asyncio.Protocol):
    """
    One client connection. Call `connect()`, then `send_binary`/`send_text`.
    """

    def __init__(self, on_message: OnMessage, *, offer_deflate: bool = True) -> None:
        self.on_message = on_message
        self.offer_deflate = offer_deflate
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.close_code = 0
        self.deflate = False
        self._inflater: zlib._Decompress | None = None
        self._reset_inflater = False
        #: The handshake, or an incomplete frame, until `_need` bytes have arrived.
        self._buf = bytearray()
        self._need = 0
        self._handshake_done = False
        self._request = b""
        self._fragments: list[bytes] = []
        self._frag_opcode = 0
        self._frag_rsv1 = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.frames_in = 0
        self.frames_out = 0

    async def connect(
        self,
        host: str,
        port: int,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        rcvbuf: int | None = None,
    ) -> None:
        """
        Open the TCP connection and complete the upgrade; raises HandshakeError on refusal.
        """
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.offer_deflate:
            lines.append(f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rcvbuf:
            # A tiny receive window makes a non-reading client back up the server quickly.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (host, port))
            await loop.create_connection(lambda: self, sock=sock)
        except BaseException:
            sock.close()
            raise
        await self.opened

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is duck-typed
        transport.write(self._request)
        self.bytes_out += len(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionResetError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code or 1006)

    def data_received(self, data: bytes) -> None:
        # CLOCK_MONOTONIC is one system-wide clock on Linux: every worker process reads the
        # same timeline, so send and receive times compare across processes.
        now = monotonic_ns()
        self.bytes_in += len(data)
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._need:
                return
            data = bytes(buf)
            buf.clear()
        if not self._handshake_done:
            buf += data
            if not self._parse_handshake():
                return
            data = bytes(buf)
            buf.clear()
        pos = self._parse_frames(data, now)
        if pos < len(data):
            buf += memoryview(data)[pos:]

    def pause_reading(self) -> None:
        """
        Stop reading from the socket (a slow consumer): the server's writes back up.
        """
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """
        Read again (after a stall): the backlog, then the close frame if the server gave up.
        """
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def send_binary(self, payload: bytes) -> None:
        self._send(_OP_BIN, payload)

    def send_text(self, text: str) -> None:
        self._send(_OP_TEXT, text.encode())

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(_OP_CLOSE, struct.pack("!H", code))
            self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        transport.write(header + mask + apply_mask(payload, mask))
        self.bytes_out += len(header) + 4 + n
        self.frames_out += 1

    def _parse_handshake(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[: end + 4]
        status = head[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self.opened.set_exception(HandshakeError(head[0]))
            if self.transport is not None:
                self.transport.close()
            return False
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "deflate" in value:
                self.deflate = True
                self._reset_inflater = "server_no_context_takeover" in value
                self._inflater = zlib.decompressobj(-15)
        self._handshake_done = True
        self.opened.set_result(None)
        return True

    def _parse_frames(self, data: bytes, now: int) -> int:
        """
        Deliver every whole frame in `data`; return where the first incomplete one starts.
        """
        pos = 0
        size = len(data)
        frames = 0
        on_message = self.on_message
        while True:
            if size - pos < 2:
                self._need = 2
                break
            b0 = data[pos]
            n = data[pos + 1] & 0x7F
            head = 2
            if n >= 126:
                head = 4 if n == 126 else 10
                if size - pos < head:
                    self._need = head
                    break
                n = int.from_bytes(data[pos + 2 : pos + head], "big")
            end = pos + head + n
            if end > size:
                self._need = head + n
                break
            payload = data[pos + head : end]
            pos = end
            frames += 1
            # FIN, no RSV bits, binary or text, nothing half-assembled: the usual frame.
            if (b0 == 0x82 or b0 == 0x81) and not self._fragments:
                on_message(self, b0 == 0x81, payload, now)
            else:
                self._frame(b0, payload, now)
        self.frames_in += frames
        return pos

    def _frame(self, b0: int, payload: bytes, now: int) -> None:
        opcode = b0 & 0x0F
        fin = b0 & 0x80
        if opcode >= _OP_CLOSE:
            self._control(opcode, payload)
            return
        if opcode != _OP_CONT:
            self._frag_opcode = opcode
            self._frag_rsv1 = bool(b0 & 0x40)
        if not fin:
            self._fragments.append(payload)
            return
        if self._fragments:
            self._fragments.append(payload)
            payload = b"".join(self._fragments)
            self._fragments = []
        if self._frag_rsv1 and self._inflater is not None:
            payload = self._inflater.decompress(payload + _DEFLATE_TAIL)
            if self._reset_inflater:
                self._inflater = zlib.decompressobj(-15)
        self.on_message(self, self._frag_opcode == _OP_TEXT, payload, now)

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == _OP_PING:
            self._send(_OP_PONG, payload)
        elif opcode == _OP_CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if self.transport is not None and not self.transport.is_closing():
                self._send(_OP_CLOSE, payload[:2])
                self.transport.close()
