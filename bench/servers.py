"""
Server processes under test: spawning, readiness, CPU and RSS from /proc, and stopping.

The bench starts every server itself, so it knows their PIDs; CPU is utime+stime of the server
and all its descendants (Hypercorn workers), RSS is the sum of their VmRSS.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench"
_TICKS_PER_SEC = os.sysconf("SC_CLK_TCK")
#: A server that does not listen within this time is reported as broken, not waited for.
READY_TIMEOUT_SECS = 30.0
STOP_TIMEOUT_SECS = 15.0


class Server:
    """
    One spawned server process listening on 127.0.0.1:port.
    """

    def __init__(
        self, name: str, argv: list[str], port: int, env: dict[str, str], cwd: Path = ROOT
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = argv
        self.port = port
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = LOG_DIR / f"{name}-{port}.log"

    def start(self) -> Server:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {self.port}: {self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.proc.pid

    def pids(self) -> list[int]:
        """
        The server's PID and all its descendants' (Hypercorn may fork workers).
        """
        if self.proc is None:
            return []
        return _descendants(self.proc.pid)

    def cpu_secs(self) -> float:
        return sum(_cpu_ticks(pid) for pid in self.pids()) / _TICKS_PER_SEC

    def rss_bytes(self) -> int:
        return sum(_rss_bytes(pid) for pid in self.pids())

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %s s; killing", self.name, STOP_TIMEOUT_SECS)
            proc.kill()
            proc.wait()


def inkroom(port: int, env: dict[str, str], tree: Path = ROOT) -> Server:
    """
    Inkroom's server from `tree` (another checkout serves its own code and bundle; one from
    before issue 19 has the entry point at realtime/serve.py).
    """
    module = "realtime.server.serve"
    if not (tree / "realtime" / "server" / "serve.py").exists():
        module = "realtime.serve"
    env = {**env, "PORT": str(port)}
    return Server("inkroom", [sys.executable, "-m", module], port, env, tree)


def channels_reference(port: int, redis_url: str | None = None) -> Server:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.reference.settings"}
    env.pop("BENCH_REF_REDIS_URL", None)
    if redis_url:
        env["BENCH_REF_REDIS_URL"] = redis_url
    argv = [
        sys.executable,
        "-m",
        "hypercorn",
        "bench.reference.asgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "uvloop",
    ]
    return Server("channels-ref", argv, port, env)


def relay(port: int) -> Server:
    argv = [sys.executable, "-m", "bench.reference.relay", "--port", str(port)]
    return Server("ws-relay", argv, port, dict(os.environ))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # After the command: state is field 3 of stat(5); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


#: The peers' Node servers and their pinned packages (`npm ci` in bench/peers).
PEERS_DIR = ROOT / "bench" / "peers"


def node_peer(name: str, script: str, port: int, args: tuple[str, ...] = ()) -> Server:
    """
    A peer's reference server, `node bench/peers/<script>.mjs PORT ARGS...`.
    """
    argv = ["node", str(PEERS_DIR / f"{script}.mjs"), str(port), *args]
    return Server(name, argv, port, dict(os.environ))


def peers_installed() -> bool:
    """
    Whether `npm ci` has installed the peers' packages (and Node is on PATH).
    """
    return (PEERS_DIR / "node_modules" / ".package-lock.json").exists() and bool(
        shutil.which("node")
    )
