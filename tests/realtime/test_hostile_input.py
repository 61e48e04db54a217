"""
Hostile input against a real `python -m realtime.server.serve` process (issue 15, findings 5, 8,
10).

Where the behaviour lives in Hypercorn (how a body arrives, how a bad frame is closed, the
handshake's headers), only a real server shows it: oversized bodies are refused from their
Content-Length before anything is read, a chunked body is cut at the limit, a text frame that is
not UTF-8 is closed with 1007 (not a dropped connection), a query with Unicode digits is a close
code and not a 500, and the socket Origin must match scheme, host and port.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from realtime.wire.protocol import CloseCode
from tests.realtime.rawframes import split_server_frames
from tests.support import servers
from tests.support.servers import ServerProcess

pytestmark = servers.REAL_SERVER_MARKS

#: The body limit the servers here run with (INKROOM_MAX_BODY_BYTES); small, so tests are quick.
LIMIT = 64 * 1024
#: What the chunked test offers in all: far above the limit plus every kernel buffer in between.
CHUNKED_TOTAL = 48 * 1024 * 1024
#: How long a test waits for an answer that should come at once (seconds).
ANSWER_SECS = 5.0


@pytest.fixture
def board_socket(board: Any, user: Any) -> tuple[str, dict[str, str]]:
    """
    The socket path of a board and the Authorization header of its owner.
    """
    key = Token.objects.create(user=user).key
    return f"/ws/boards/{board.id}/", {"Authorization": f"Token {key}"}


@pytest.fixture
def server(start_inkroom: Any) -> ServerProcess:
    started: ServerProcess = start_inkroom(INKROOM_MAX_BODY_BYTES=str(LIMIT))
    return started


def _head(port: int, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """
    Split a raw HTTP/1.1 response (Content-Length framed) into status, headers and body.
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


class _ResponseReader(threading.Thread):
    """
    Read everything the server sends until it closes (or resets) the connection.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.data = b""
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.data += chunk
        except OSError as error:
            self.error = error


@pytest.mark.parametrize("path", ["/api/v1/boards/", "/api/v1/auth/token/", "/not/a/page/"])
def test_a_declared_oversized_body_is_refused_before_it_is_read(
    server: ServerProcess, path: str
) -> None:
    # 150 MB announced, not one byte of it sent: the answer must not wait for the body.
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECS) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": str(150 * 10**6)}
        sock.sendall(_head(server.port, "POST", path, headers))
        reader = _ResponseReader(sock)
        reader.start()
        reader.join(ANSWER_SECS)
    assert reader.data, f"no answer in {ANSWER_SECS} s (the server waits for the body)"
    status, response_headers, body = _parse_response(reader.data)
    assert status == 413
    assert response_headers["content-type"] == "application/json"
    assert response_headers["connection"] == "close"
    assert json.loads(body) == {
        "message": f"Request body of 150000000 bytes is above {LIMIT} bytes.",
        "code": "too_large",
        "extra": {},
    }


def test_a_chunked_body_is_cut_at_the_limit(server: ServerProcess) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    chunk = b"x" * 16384
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECS) as sock:
        sock.sendall(_head(server.port, "POST", "/api/v1/boards/", headers))
        reader = _ResponseReader(sock)
        reader.start()
        started = time.monotonic()
        try:
            # Before: the server read all 48 MiB into a temporary file, then answered 401.
            while sent < CHUNKED_TOTAL and reader.is_alive():
                sock.sendall(frame)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection while we were still sending: expected
        reader.join(ANSWER_SECS)
        elapsed = time.monotonic() - started
    assert reader.data, f"no answer after sending {sent} bytes ({reader.error!r})"
    status, response_headers, body = _parse_response(reader.data)
    assert status == 413, reader.data[:300]
    assert response_headers["connection"] == "close"
    assert json.loads(body) == {
        "message": f"Request body is above {LIMIT} bytes.",
        "code": "too_large",
        "extra": {},
    }
    assert sent < CHUNKED_TOTAL, f"the whole {sent} bytes were taken in {elapsed:.1f} s"
    # The process is fine and serves the next request.
    assert server.get("/healthz")[0] == 200


def test_a_chunked_body_under_the_limit_is_passed_on(server: ServerProcess) -> None:
    # Guards the counting against cutting small bodies. What the API makes of a chunked body is
    # DRF's business: it reads no body without a Content-Length, so the fields are "required".
    body = json.dumps({"username": "alice", "password": "x" * (LIMIT // 2)}).encode()
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECS) as sock:
        sock.sendall(_head(server.port, "POST", "/api/v1/auth/token/", headers))
        for start in range(0, len(body), 4096):
            piece = body[start : start + 4096]
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    status, _, response = _parse_response(raw)
    assert status == 400, raw
    assert json.loads(response)["code"] == "invalid"


def _length(raw: bytes) -> int:
    _, headers, _ = _parse_response(raw)
    return int(headers.get("content-length", "0"))


async def test_a_text_frame_that_is_not_utf8_closes_with_1007(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = await asyncio.to_thread(start_inkroom)
    async with connect(server.ws_url(path) + "?v=2", additional_headers=headers) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECS))
        assert hello["type"] == "hello"
        await ws.send(b'{"type": "ping", "t": "\xff\xfe"}', text=True)
        await asyncio.wait_for(ws.wait_closed(), ANSWER_SECS)
    # Before: Hypercorn dropped the TCP connection and the client saw 1006 (no close frame).
    assert ws.close_code == CloseCode.INVALID_TEXT
    assert ws.protocol.close_rcvd is not None
    assert ws.protocol.close_rcvd.code == CloseCode.INVALID_TEXT


def _close_code(sock: socket.socket) -> int | None:
    """
    Read server frames until a close frame; return its code (None if the connection just ends).
    """
    buffer = b""
    while True:
        frames, buffer = split_server_frames(buffer)
        for opcode, payload in frames:
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk


def test_a_frame_breaking_the_protocol_closes_with_1002(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = start_inkroom()
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        **headers,
    }
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECS) as sock:
        sock.sendall(_head(server.port, "GET", path + "?v=2", upgrade))
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(b"\x82\x01\x00")  # a client frame without a mask (RFC 6455 5.1)
        # Before: no close frame, the TCP connection just ended (1006 for the client).
        assert _close_code(sock) == CloseCode.PROTOCOL_VIOLATION


async def test_unicode_digits_in_the_socket_query_are_close_codes_not_500(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = await asyncio.to_thread(start_inkroom)
    async with connect(server.ws_url(path) + "?v=%C2%B2", additional_headers=headers) as ws:
        await asyncio.wait_for(ws.wait_closed(), ANSWER_SECS)
    assert ws.close_code == CloseCode.PROTOCOL_ERROR
    async with connect(server.ws_url(path) + "?v=2&since=%C2%B2", additional_headers=headers) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECS))
    assert hello["type"] == "hello"


async def test_the_socket_origin_must_match_scheme_host_and_port(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = await asyncio.to_thread(start_inkroom)
    url = server.ws_url(path) + "?v=2"
    # The page's own origin (Host header plus the connection's scheme) is admitted.
    same = f"http://127.0.0.1:{server.port}"
    async with connect(url, additional_headers=headers, origin=Origin(same)) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECS))["type"] == "hello"
    # Before: only the host name was compared, so these three were admitted.
    for foreign in (
        f"http://127.0.0.1:{server.port + 1}",
        f"https://127.0.0.1:{server.port}",
        "http://127.0.0.1",
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=headers, origin=Origin(foreign)):
                pass
        assert refused.value.response.status_code == 403, foreign
