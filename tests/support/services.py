"""
Private, breakable stand-ins for the cluster's shared services: a Redis and a PostgreSQL path.

The fault tests must never restart the machine's PostgreSQL or Redis (other people's tests use
them at the same time). So Redis is a `redis-server` of our own on its own port, restarted at
will, and PostgreSQL is reached through `TcpProxy`, an asyncio TCP relay in a thread of the test
process that can cut every connection and refuse new ones, then come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

#: How long a fresh redis-server may take to accept connections (seconds).
REDIS_START_SECS = 10.0
#: Relay buffer per read (bytes); PostgreSQL messages are small, 64 KiB covers a catch-up page.
RELAY_CHUNK_BYTES = 64 * 1024


def wait_port(port: int, *, up: bool, timeout: float) -> None:
    """
    Block until 127.0.0.1:port accepts connections (up) or refuses them (not up).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                accepting = True
        except OSError:
            accepting = False
        if accepting == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"127.0.0.1:{port} still {'down' if up else 'up'} after {timeout} s")


class PrivateRedis:
    """
    A redis-server on its own loopback port, without persistence, owned by the test session.
    """

    def __init__(self, port: int, log_dir: Path) -> None:
        self.port = port
        self.log_path = log_dir / f"redis-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/ensure-services.sh)")
        self.binary = binary

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--logfile", str(self.log_path)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_port(self.port, up=True, timeout=REDIS_START_SECS)

    def stop(self) -> None:
        """
        SIGKILL the server (an abrupt Redis failure, not a polite shutdown) and wait for it.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_secs: float) -> None:
        """
        Kill Redis, keep it down for `down_secs`, start an empty one on the same port.
        """
        self.stop()
        time.sleep(down_secs)
        self.start()


class RedisShards:
    """
    The cluster's channel layer: one PrivateRedis per shard, broken and healed together.

    `url` is what REDIS_URL takes: the shards' URLs, comma-separated, in port order.
    """

    def __init__(self, ports: list[int], log_dir: Path) -> None:
        self.shards = [PrivateRedis(port, log_dir) for port in ports]

    @property
    def url(self) -> str:
        return ",".join(shard.url for shard in self.shards)

    @property
    def running(self) -> bool:
        return all(shard.process is not None for shard in self.shards)

    def start(self) -> None:
        for shard in self.shards:
            if shard.process is None:
                shard.start()

    def stop(self) -> None:
        for shard in self.shards:
            shard.stop()

    def restart(self, down_secs: float) -> None:
        """
        Kill every shard, keep them down for `down_secs`, start them empty.
        """
        self.stop()
        time.sleep(down_secs)
        self.start()


class TcpProxy:
    """
    A loopback TCP relay to `target` that can be cut (all links dropped, connects refused).
    """

    def __init__(self, listen_port: int, target: tuple[str, int]) -> None:
        self.listen_port = listen_port
        self.target = target
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="tcpproxy")

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    def cut(self) -> None:
        """
        Stop listening (new connects get ECONNREFUSED) and reset every relayed connection.
        """
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.listen_port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            # abort(): an RST, like a failed-over or unreachable database, not a clean goodbye.
            writer.transport.abort()
        self._links.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        self._links.difference_update((writer, up_writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(RELAY_CHUNK_BYTES):
                writer.write(data)
                await writer.drain()
        # One side ended: end the other, so neither end waits on a half-dead link.
        writer.close()
