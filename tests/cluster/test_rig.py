"""
The local cluster itself: scaling through scripts/cluster.sh, nginx in front, and the pods'
readiness signal while the private Redis or the PostgreSQL path is broken.
"""

from __future__ import annotations

import os
import time
import urllib.request

import pytest

from tests.cluster.rig import FaultRig
from tests.support.wsclient import BoardClient, token_header

pytestmark = [pytest.mark.cluster, pytest.mark.multiprocess]

#: How long readiness may take to notice a broken or healed dependency (seconds).
READY_WITHIN_SECS = 10.0


def _wait_ready(rig: FaultRig, *, status: int, naming: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < READY_WITHIN_SECS:
        answers = [rig.cluster.get(port, "/readyz") for port in rig.cluster.pods()]
        if all(code == status and naming in body for code, body in answers):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"readyz never became {status} {naming!r}: {answers}")


def _running(pid: int) -> bool:
    # A stopped pod may linger a moment as a zombie until init reaps it: that is not running.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_scale_up_and_down_through_the_script(rig: FaultRig) -> None:
    cluster = rig.cluster
    first = cluster.pods()
    cluster.scale(3)
    pods = cluster.pods()
    assert len(pods) == 3 and first.items() <= pods.items()
    conf = (cluster.state_dir / "nginx" / "nginx.conf").read_text()
    assert all(f"server 127.0.0.1:{port} " in conf for port in pods)
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.lb_port}/healthz", timeout=3) as r:
        assert r.status == 200
    (added,) = set(pods) - set(first)
    cluster.scale(2)
    assert cluster.pods() == first
    assert f"127.0.0.1:{added} " not in (cluster.state_dir / "nginx" / "nginx.conf").read_text()
    assert not _running(pods[added]), "the removed pod is still running"
    status = cluster.run("status")
    assert status.count(" ready") == 2 and "nginx" in status


def test_a_dead_pod_is_replaced_on_the_next_scale(rig: FaultRig) -> None:
    cluster = rig.cluster
    port, pid = next(iter(cluster.pods().items()))
    os.kill(pid, 9)
    deadline = time.monotonic() + 5
    while port in cluster.pods() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "dead" in cluster.run("status")
    cluster.scale(2)
    assert len(cluster.pods()) == 2
    assert cluster.pods().get(port) != pid


def test_readyz_names_the_database_while_postgres_is_cut(rig: FaultRig) -> None:
    rig.pg_proxy.cut()
    try:
        _wait_ready(rig, status=503, naming="database")
    finally:
        rig.pg_proxy.restore()
    print(f"ready again {_wait_ready(rig, status=200):.2f} s after PostgreSQL came back")


def test_readyz_names_the_channel_layer_while_redis_is_down(rig: FaultRig) -> None:
    rig.redis.stop()
    try:
        _wait_ready(rig, status=503, naming="channel_layer")
    finally:
        rig.redis.start()
    print(f"ready again {_wait_ready(rig, status=200):.2f} s after Redis came back")


async def test_hash_mode_keeps_a_boards_clients_on_one_pod(rig: FaultRig) -> None:
    cluster = rig.cluster
    board_id, token = cluster.seed_board("hash mode")
    clients = [BoardClient(cluster.ws_url(board_id), headers=token_header(token)) for _ in range(4)]
    cluster.run("reload", env={"CLUSTER_LB": "hash"})
    try:
        for client in clients:
            await client.connect()
        counts = sorted(cluster.connections().values())
        assert counts == [0, 4], f"a board's sockets spread over pods: {cluster.connections()}"
    finally:
        for client in clients:
            await client.close()
        cluster.run("reload")
    assert "hash $board_key" not in (cluster.state_dir / "nginx" / "nginx.conf").read_text()
