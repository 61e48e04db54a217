"""
`python -m realtime.server.serve` as a real process: probes, WebSocket handshake without
permessage-deflate, keep-alive pings, the 1 MiB message cap and the open-files limit.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from tests.realtime.rawframes import split_server_frames
from tests.support import servers
from tests.support.servers import ServerProcess

pytestmark = servers.REAL_SERVER_MARKS


DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"


@pytest.fixture
def board_socket(board: Any, user: Any) -> tuple[str, dict[str, str]]:
    """
    The socket path of a board and the Authorization header of its owner.
    """
    key = Token.objects.create(user=user).key
    return f"/ws/boards/{board.id}/", {"Authorization": f"Token {key}"}


def _raw_handshake(
    port: int, path: str, headers: dict[str, str], *, whole_first_read: bool = False
) -> tuple[socket.socket, bytes]:
    """
    Open a WebSocket by hand, offering permessage-deflate; return the socket and the response head
    (with `whole_first_read`: everything the first read returned).
    """
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path}?v=1 HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    if whole_first_read:
        return sock, sock.recv(65536)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def _read_opcodes(sock: socket.socket, seconds: float) -> list[int]:
    """
    Read server frames (unmasked) for `seconds`; return their opcodes.
    """
    sock.settimeout(0.2)
    buffer = b""
    opcodes: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        frames, buffer = split_server_frames(buffer + chunk)
        opcodes.extend(opcode for opcode, _ in frames)
    return opcodes


def test_probes_and_metrics(start_inkroom: Any) -> None:
    server: ServerProcess = start_inkroom()
    assert server.get("/healthz") == (200, b'{"status": "ok"}')
    status, body = server.get("/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    with urllib.request.urlopen(server.http_url("/metrics")) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b"inkroom_connections" in response.read()
    # Kubelets and Prometheus address the pod by IP, a Host that ALLOWED_HOSTS does not list.
    for path in ("/healthz", "/readyz", "/metrics"):
        request = urllib.request.Request(server.http_url(path), headers={"Host": "10.1.2.3:8000"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 200, path


def test_readyz_names_an_unreachable_database(start_inkroom: Any) -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused at once
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
        server = start_inkroom(DATABASE_URL=f"postgres://postgres@127.0.0.1:{dead}/nowhere")
        status, body = server.get("/readyz")
    assert server.get("/healthz")[0] == 200
    assert status == 503
    assert json.loads(body)["failed"] == "database"


def test_websocket_refuses_deflate_and_pings(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = start_inkroom(WS_PING_SECS="0.5")
    sock, head = _raw_handshake(server.port, path, headers)
    with sock:
        assert head.startswith(b"HTTP/1.1 101"), head
        assert b"sec-websocket-extensions" not in head.lower(), head
        # The first ping comes one interval after accept, not with it (a reconnect storm would
        # pay a ping and its pong per join).
        first = _read_opcodes(sock, 0.25)
        later = _read_opcodes(sock, 1.4)
    assert 0x9 not in first, f"pinged at accept: opcodes {first}"
    assert 0x1 in first + later, "no hello text frame"
    assert later.count(0x9) >= 2, f"expected pings every 0.5 s, got opcodes {later}"


def test_a_join_answers_with_one_write(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    # The 101, hello and (the room in memory) synced leave in one socket write: a client's
    # first read has them all. The first socket loads the board; the second finds it loaded.
    path, headers = board_socket
    server = start_inkroom()
    first, _ = _raw_handshake(server.port, path, headers)
    with first:
        _read_opcodes(first, 0.3)
        sock, chunk = _raw_handshake(server.port, path, headers, whole_first_read=True)
        with sock:
            assert chunk.startswith(b"HTTP/1.1 101"), chunk
            frames, _ = split_server_frames(chunk.split(b"\r\n\r\n", 1)[1])
            texts = [json.loads(payload) for opcode, payload in frames if opcode == 0x1]
            assert [t["type"] for t in texts][:2] == ["hello", "synced"], frames


def test_socket_paths_and_origins_are_refused_before_the_handshake(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = start_inkroom()

    def status(socket_path: str, **extra: str) -> bytes:
        sock, head = _raw_handshake(server.port, socket_path, {**headers, **extra})
        sock.close()
        return head.split(b"\r\n", 1)[0]

    assert status(path).startswith(b"HTTP/1.1 101")
    assert status("/" + path).startswith(b"HTTP/1.1 101")  # as Django's resolver matched it
    own = f"http://127.0.0.1:{server.port}"
    assert status(path, Origin=own).startswith(b"HTTP/1.1 101")
    board_id = path.split("/")[3]
    for wrong in ("/ws/boards/", f"/ws/boards/{board_id}", f"{path}x/", "/ws/board/1/", "/"):
        assert status(wrong).startswith(b"HTTP/1.1 404"), wrong
    # The origin is checked first: a foreign page learns nothing about paths.
    for wrong in (path, "/nope/"):
        assert status(wrong, Origin="http://127.0.0.1:1").startswith(b"HTTP/1.1 403"), wrong
    assert "Traceback" not in server.log_text()


async def test_websockets_client_gets_hello_without_extensions(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    path, headers = board_socket
    server = await asyncio.to_thread(start_inkroom)
    async with connect(
        server.ws_url(path) + "?v=1", additional_headers=headers, proxy=None, compression="deflate"
    ) as ws:
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "hello"
        assert hello["role"] == "owner"
        # Above 1 MiB the transport closes with 1009 before the app buffers the message.
        await ws.send(b"\x00" * (1024 * 1024 + 1))
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1009


def test_open_files_limit_is_raised(start_inkroom: Any) -> None:
    server = start_inkroom()
    limits = Path(f"/proc/{server.pid}/limits").read_text()
    soft, hard = next(line for line in limits.splitlines() if line.startswith("Max open files"))[
        len("Max open files") :
    ].split()[:2]
    assert soft == hard
    assert "open-files limit (RLIMIT_NOFILE) is" in server.log_text()


# --- in process: the ASGI gate and the settings -----------------------------------------------


class _Inner:
    """
    The wrapped application: records whether the gate let a scope through.
    """

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope["type"])


async def _drive(gate: Any, scope: dict[str, Any], inbound: list[dict[str, Any]]) -> list[Any]:
    sent: list[dict[str, Any]] = []
    queue = list(inbound)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await gate(scope, receive, send)
    return sent


async def test_gate_refuses_new_websockets_with_1012_while_draining() -> None:
    from realtime.engine.drain import PROCESS_DRAIN
    from realtime.server.gate import DrainGate

    inner = _Inner()
    gate = DrainGate(inner)
    scope = {"type": "websocket", "path": "/ws/boards/x/"}
    PROCESS_DRAIN.begin()
    try:
        sent = await _drive(gate, scope, [{"type": "websocket.connect"}])
    finally:
        PROCESS_DRAIN.clear()
    assert sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.close", "code": 1012},
    ]
    assert inner.scopes == []
    await _drive(gate, scope, [{"type": "websocket.connect"}])
    assert inner.scopes == ["websocket"]


async def test_gate_answers_lifespan() -> None:
    from realtime.server.gate import DrainGate

    inner = _Inner()
    sent = await _drive(
        DrainGate(inner),
        {"type": "lifespan"},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert inner.scopes == []


def test_settings_bind_and_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime.server.serve import hypercorn_settings

    monkeypatch.setenv("BIND", "0.0.0.0:8000, [::]:8000")
    settings = hypercorn_settings()
    assert settings["bind"] == ["0.0.0.0:8000", "[::]:8000"]
    assert settings["websocket_max_message_size"] == 1024 * 1024
    assert settings["websocket_ping_interval"] == 20.0
    assert settings["accesslog"] is None
    monkeypatch.delenv("BIND")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9123")
    assert hypercorn_settings()["bind"] == ["0.0.0.0:9123"]


def test_closed_sockets_leave_no_connection_task(
    start_inkroom: Any, board_socket: tuple[str, dict[str, str]]
) -> None:
    # Hypercorn's ping task used to keep a closed socket's connection task alive for up to
    # WS_PING_SECS; at shutdown each such task had to be cancelled (logged at DEBUG).
    path, headers = board_socket
    server = start_inkroom(LOG_LEVEL="DEBUG")

    async def open_and_close() -> None:
        for _ in range(5):
            async with connect(
                server.ws_url(path) + "?v=1", additional_headers=headers, proxy=None
            ) as ws:
                await asyncio.wait_for(ws.recv(), 5)
        await asyncio.sleep(0.3)

    asyncio.run(open_and_close())
    assert server.stop() == 0
    assert "cancelled at shutdown" not in server.log_text()
