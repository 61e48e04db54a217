"""
Real Inkroom server processes for tests: start `python -m realtime.server.serve` on a free loopback
port.

Importable helpers (`start_server`, `ServerProcess`, `database_url`, `free_port`) plus pytest
fixtures `server_env` and `start_inkroom`, which tests/conftest.py registers as a plugin, so every
test folder has them.
A server runs against the same PostgreSQL database as the test (pass
`connection.settings_dict["NAME"]`, so use `django_db(transaction=True)`: data the test commits is
visible to the child) and, when REDIS_URL is set, the Redis channel layer under a prefix unique to
the test, so servers of one test see each other and nobody else.

Ports come from INKROOM_TEST_PORTS ("18150-18199" by default), so engineers and CI jobs sharing a
machine can give each suite its own range. Server output goes to a log file that is printed when
a test fails; `ServerProcess.log_text()` reads it.

    from tests.support import servers

    pytestmark = servers.REAL_SERVER_MARKS

    def test_x(start_inkroom):
        server = start_inkroom()
        urllib.request.urlopen(server.http_url("/healthz"))
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The marks of a module whose tests start real servers against the test's database and Redis.
REAL_SERVER_MARKS = [
    pytest.mark.multiprocess,
    pytest.mark.requires_postgres,
    pytest.mark.requires_redis,
    pytest.mark.django_db(transaction=True),
]
#: Port range used when INKROOM_TEST_PORTS is unset (this suite's allocation on shared boxes).
DEFAULT_PORT_RANGE = "18150-18199"
#: How long a fresh server may take to answer /healthz (seconds): Django import plus migrations
#: check on a loaded 2-core box takes 1-3 s.
START_TIMEOUT_SECS = 30.0
#: Poll interval while waiting for a server (seconds).
POLL_SECS = 0.05

_claimed_ports: set[int] = set()


def port_range() -> range:
    """
    Return the loopback port range tests may bind (INKROOM_TEST_PORTS, "lo-hi" inclusive).
    """
    raw = os.environ.get("INKROOM_TEST_PORTS", DEFAULT_PORT_RANGE)
    lo, _, hi = raw.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def free_port() -> int:
    """
    Return a port of port_range() that is free now and not handed out before in this process.
    """
    for port in port_range():
        if port in _claimed_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the servers bind (Hypercorn, Redis and nginx all set it): a port whose earlier
            # server closed its connections first holds them in TIME_WAIT for a minute, which
            # fails a plain bind but not theirs, and a lane's 25 ports ran out that way.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _claimed_ports.add(port)
        return port
    # Ports are released when servers stop; start over once the whole range was handed out.
    if _claimed_ports:
        _claimed_ports.clear()
        return free_port()
    raise RuntimeError(f"No free port in {port_range()}; set INKROOM_TEST_PORTS.")


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """
    Return a DATABASE_URL naming the database of a Django connection's settings_dict.
    """
    engine = settings_dict["ENGINE"]
    if "sqlite" in engine:
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


@dataclass
class ServerProcess:
    """
    One running `python -m realtime.server.serve` child.
    """

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def http_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        """
        GET `path`; return (status, body) for any HTTP status.
        """
        try:
            with urllib.request.urlopen(self.http_url(path), timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_healthy(self, timeout: float = START_TIMEOUT_SECS) -> None:
        """
        Block until /healthz answers 200; raise with the server log if it dies or times out.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"server on {self.port} exited:\n{self.log_text()}")
            try:
                if self.get("/healthz", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(POLL_SECS)
        raise RuntimeError(f"server on {self.port} not healthy in {timeout} s:\n{self.log_text()}")

    def signal(self, signum: int) -> None:
        if self.alive():
            self.process.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        """
        Wait for the process to exit and return its exit code (raises TimeoutExpired).
        """
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """
        SIGKILL the process (a crash, as far as clients and the database can tell).
        """
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """
        SIGTERM, wait up to `timeout`, then SIGKILL; return the exit code.
        """
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        _claimed_ports.discard(self.port)
        return self.process.returncode


#: What servers started by tests run with: the product's settings and a fast password hasher.
SERVER_SETTINGS = "tests.support.server_settings"


def start_server(
    *,
    env: Mapping[str, str],
    log_dir: Path,
    port: int | None = None,
    wait: bool = True,
) -> ServerProcess:
    """
    Start `python -m realtime.server.serve` with `env` on top of os.environ; wait for /healthz.
    """
    port = port or free_port()
    child_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"}
    child_env["DJANGO_SETTINGS_MODULE"] = env.get("DJANGO_SETTINGS_MODULE", SERVER_SETTINGS)
    child_env.pop("BIND", None)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "realtime.server.serve"],
            cwd=REPO_ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not the servers
        )
    server = ServerProcess(port=port, process=process, log_path=log_path, env=child_env)
    if wait:
        try:
            server.wait_healthy()
        except Exception:
            server.stop(timeout=2)
            raise
    return server


def server_env_for(settings_dict: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """
    Return the environment for servers sharing the test's database and a test-private layer.
    """
    env = {
        "DATABASE_URL": database_url(settings_dict),
        "DEBUG": "0",
        "LOG_LEVEL": os.environ.get("INKROOM_TEST_SERVER_LOG_LEVEL", "INFO"),
        # A prefix per test: stale group members or messages of an earlier test never leak in.
        "CHANNEL_LAYER_PREFIX": f"{os.environ.get('CHANNEL_LAYER_PREFIX', 'inkroom-test')}-"
        f"{uuid.uuid4().hex[:8]}",
    }
    env.update(extra)
    return env


@pytest.fixture(name="server_env")
def server_env_fixture(transactional_db: Any) -> dict[str, str]:
    """
    Environment for servers that share this test's database (data must be committed).
    """
    from django.db import connection

    return server_env_for(connection.settings_dict)


@pytest.fixture(name="start_inkroom")
def start_inkroom_fixture(
    server_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ServerProcess]]:
    """
    A factory starting servers with `server_env` (plus overrides); all are stopped at teardown
    and their logs are printed when the test failed.
    """
    started: list[ServerProcess] = []
    failed_before = request.session.testsfailed

    def start(*, wait: bool = True, **overrides: str) -> ServerProcess:
        """
        Start one server; with wait=False return at once (call wait_healthy() later), so several
        servers boot in parallel.
        """
        server = start_server(
            env={**server_env, **overrides}, log_dir=tmp_path / "servers", wait=wait
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(timeout=5)
    # The call phase's report is logged before teardown, so a failure has been counted by now.
    if request.session.testsfailed > failed_before:
        for server in started:
            sys.stderr.write(f"\n----- server :{server.port} log -----\n{server.log_text()}\n")
