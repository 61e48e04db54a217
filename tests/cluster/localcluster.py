"""
The local cluster as a test fixture: `scripts/cluster.sh` driven with a private state directory,
ports, Redis and database, plus direct reads of what the tests check (pods, metrics, the log).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import psycopg

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "cluster.sh"
#: Upper bound of one cluster.sh call (seconds): `up` migrates a fresh database (~5 s) and
#: waits for every pod's /readyz; `scale` down waits for a drain.
SCRIPT_TIMEOUT_SECS = 90


@dataclass(frozen=True)
class LogRow:
    """
    One stored op of the durable log.
    """

    seq: int
    client_id: str
    client_op_id: int
    entry: dict[str, Any]


class LocalCluster:
    """
    N pods behind nginx on loopback, run by scripts/cluster.sh with its own CLUSTER_DIR.
    """

    def __init__(
        self,
        *,
        state_dir: Path,
        lb_port: int,
        pod_base_port: int,
        database_url: str,
        direct_database_url: str,
        redis_url: str,
        drain_secs: float,
    ) -> None:
        self.state_dir = state_dir
        self.lb_port = lb_port
        self.database_url = database_url
        self.direct_database_url = direct_database_url
        self.env = {
            **os.environ,
            "CLUSTER_DIR": str(state_dir),
            "CLUSTER_PORT": str(lb_port),
            "CLUSTER_POD_BASE_PORT": str(pod_base_port),
            "CLUSTER_DATABASE_URL": database_url,
            "CLUSTER_REDIS_URL": redis_url,
            "CLUSTER_LB": "roundrobin",
            "CLUSTER_CHANNEL_PREFIX": f"inkroom-faults-{os.getpid()}",
            "CLUSTER_PYTHON": sys.executable,
            "INKROOM_DRAIN_SECS": str(drain_secs),
        }

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_SECS,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(args)} failed:\n{done.stderr}{self.logs()}")
        return done.stdout

    def up(self, pods: int) -> None:
        self.run("up", str(pods))

    def scale(self, pods: int) -> None:
        self.run("scale", str(pods))

    def down(self) -> None:
        self.run("down")

    def pods(self) -> dict[int, int]:
        """
        Return {port: pid} of the pods the script recorded and that are still alive.
        """
        alive = {}
        mark = f"INKROOM_CLUSTER_DIR={self.state_dir}".encode()
        for pid_file in sorted((self.state_dir / "pods").glob("*.pid")):
            pid = int(pid_file.read_text().strip())
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            # The environment check: a recycled PID may be someone else's realtime.server.serve.
            if b"realtime.server.serve" in cmdline and mark in environ:
                alive[int(pid_file.stem)] = pid
        return alive

    def signal_pod(self, port: int, signum: signal.Signals) -> None:
        os.kill(self.pods()[port], signum)

    def get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metric(self, port: int, name: str) -> float:
        """
        Return an unlabelled metric of one pod (straight from the pod, not through nginx).
        """
        _, text = self.get(port, "/metrics")
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        if found is None:
            raise AssertionError(f"metric {name} not exported by pod :{port}")
        return float(found.group(1))

    def connections(self) -> dict[int, int]:
        return {port: int(self.metric(port, "inkroom_connections")) for port in self.pods()}

    def ws_url(self, board_id: str) -> str:
        return f"ws://127.0.0.1:{self.lb_port}/ws/boards/{board_id}/"

    def manage(self, *args: str) -> str:
        """
        Run a manage.py command against the cluster database (directly); return its output.
        """
        env = {**self.env, "DATABASE_URL": self.direct_database_url, "DEBUG": "0"}
        env.setdefault("SECRET_KEY", "inkroom-local-cluster-insecure-key")
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_SECS,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def seed_board(self, title: str) -> tuple[str, str]:
        """
        Create a board and an owner's API token in the cluster database; return (board, token).
        """
        env = {**self.env, "DATABASE_URL": self.direct_database_url, "DEBUG": "0"}
        env.setdefault("SECRET_KEY", "inkroom-local-cluster-insecure-key")
        done = subprocess.run(
            [sys.executable, str(REPO / "tests" / "cluster" / "seed.py"), title],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        data = json.loads(done.stdout.strip().splitlines()[-1])
        return data["board"], data["token"]

    def log(self, board_id: str) -> list[LogRow]:
        """
        Return the board's durable log in seq order, read directly (never through the proxy).
        """
        with psycopg.connect(self.direct_database_url, connect_timeout=5) as conn:
            rows = conn.execute(
                "select seq, client_id, client_op_id, payload from board_op"
                " where board_id = %s order by seq",
                (board_id,),
            ).fetchall()
        return [LogRow(s, c, i, msgpack.unpackb(bytes(p), raw=False)) for s, c, i, p in rows]

    def logs(self) -> str:
        """
        Return the tails of the pod and nginx logs, for failure messages.
        """
        parts = []
        paths = [*sorted(self.state_dir.glob("pod-*.log")), self.state_dir / "nginx/error.log"]
        for path in paths:
            if path.exists():
                tail = [ln[:300] for ln in path.read_text(errors="replace").splitlines()[-15:]]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)
