"""
Fault tests on the local cluster: pods drained, killed and added, Redis restarted, PostgreSQL cut,
all while clients keep drawing through nginx. After each fault every client must equal the durable
log, every acked op must be in it exactly once, and the figures (reconnect time, ops lost) are
printed for the operations report.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import pytest

from tests.cluster.drawing import Crowd, FaultReport, verify
from tests.cluster.rig import DRAIN_SECS, FaultRig
from tests.support.wsclient import token_header

pytestmark = [pytest.mark.cluster, pytest.mark.multiprocess, pytest.mark.slow]

#: Clients per test: enough that round robin puts several on every pod.
CLIENTS = 6
#: Drawing before and after each fault (seconds).
WARMUP_SECS = 1.0
AFTERMATH_SECS = 2.0


@pytest.fixture
async def board(rig: FaultRig, request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Crowd]]:
    board_id, token = rig.cluster.seed_board(request.node.name)
    crowd = Crowd(url=rig.cluster.ws_url(board_id), headers=token_header(token))
    try:
        yield board_id, crowd
    finally:
        await crowd.close()


def _print(capsys: pytest.CaptureFixture[str], report: FaultReport) -> None:
    with capsys.disabled():
        print("\n" + report.line())


async def _wait_gone(rig: FaultRig, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while port in rig.cluster.pods():
        assert time.monotonic() < deadline, (
            f"pod :{port} still running {timeout} s after the signal"
        )
        await asyncio.sleep(0.05)


def _busiest_pod(rig: FaultRig) -> int:
    connections = rig.cluster.connections()
    port = max(connections, key=connections.__getitem__)
    assert connections[port] > 0, f"no client on any pod: {connections}"
    return port


async def _pod_fault(
    rig: FaultRig, board: tuple[str, Crowd], signum: signal.Signals
) -> FaultReport:
    board_id, crowd = board
    await crowd.join(CLIENTS)
    await asyncio.sleep(WARMUP_SECS)
    victim = _busiest_pod(rig)
    on_victim = rig.cluster.connections()[victim]
    rig.cluster.signal_pod(victim, signum)
    await _wait_gone(rig, victim, DRAIN_SECS + 1.0)
    recovery = await crowd.probe()
    await asyncio.sleep(AFTERMATH_SECS)
    await crowd.stop()
    report = await verify(rig.cluster, board_id, crowd, f"{signum.name} 1 of 2 pods", recovery)
    assert len(report.reconnects) >= on_victim, "the victim's clients did not all reconnect"
    return report


async def test_sigterm_one_pod_clients_see_1012_and_converge(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    report = await _pod_fault(rig, board, signal.SIGTERM)
    _print(capsys, report)
    assert report.ops_lost == 0
    # Drained, not cut: every client of the pod is told 1012 (not 1006/1011).
    assert set(report.close_codes) == {1012}, report.close_codes


async def test_sigkill_one_pod_clients_reconnect_and_converge(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    report = await _pod_fault(rig, board, signal.SIGKILL)
    _print(capsys, report)
    assert report.ops_lost == 0
    assert report.close_codes[1006] >= 1, report.close_codes


async def test_scale_up_new_clients_land_on_new_pod_and_see_everyone(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    board_id, crowd = board
    await crowd.join(CLIENTS)
    await asyncio.sleep(WARMUP_SECS)
    before = set(rig.cluster.pods())
    await asyncio.to_thread(rig.cluster.scale, 3)
    (new_pod,) = set(rig.cluster.pods()) - before
    newcomers = await crowd.join(3)
    assert rig.cluster.connections()[new_pod] >= 1, "no new client landed on the new pod"
    recovery = await crowd.probe()
    await asyncio.sleep(AFTERMATH_SECS)
    await crowd.stop()
    report = await verify(rig.cluster, board_id, crowd, "scale 2 -> 3 pods", recovery)
    _print(capsys, report)
    assert report.ops_lost == 0
    # "See everyone": the newcomers hold every client's strokes, not only their own pod's.
    everyone = {el_id for c in crowd.clients for el_id in c.state.elements}
    assert all(set(n.state.elements) == everyone for n in newcomers)
    assert not report.close_codes, "scaling up must not disconnect anybody"


async def test_scale_down_mid_session_moves_clients_with_1012(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    board_id, crowd = board
    await asyncio.to_thread(rig.cluster.scale, 3)
    await crowd.join(CLIENTS)
    await asyncio.sleep(WARMUP_SECS)
    leaving = max(rig.cluster.pods())  # scale removes the highest port
    on_leaving = rig.cluster.connections()[leaving]
    assert on_leaving > 0, "round robin put no client on the pod that leaves"
    # Out of nginx, the local preStop pause, SIGTERM, drained: what `kubectl scale` does.
    await asyncio.to_thread(rig.cluster.scale, 2)
    recovery = await crowd.probe()
    await asyncio.sleep(AFTERMATH_SECS)
    await crowd.stop()
    report = await verify(rig.cluster, board_id, crowd, "scale 3 -> 2 pods", recovery)
    _print(capsys, report)
    assert report.ops_lost == 0
    assert report.close_codes == {1012: on_leaving}, report.close_codes


async def test_redis_restart_recovers_by_itself(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    board_id, crowd = board
    await crowd.join(CLIENTS)
    await asyncio.sleep(WARMUP_SECS)
    await asyncio.to_thread(rig.redis.restart, 1.0)
    recovery = await crowd.probe()
    await asyncio.sleep(AFTERMATH_SECS)
    await crowd.stop()
    report = await verify(rig.cluster, board_id, crowd, "Redis killed, 1 s down", recovery)
    _print(capsys, report)
    assert report.ops_lost == 0
    for port in rig.cluster.pods():
        assert rig.cluster.get(port, "/readyz")[0] == 200, f"pod :{port} not ready after Redis"


async def test_postgres_unavailable_refuses_writes_then_recovers(
    rig: FaultRig, board: tuple[str, Crowd], capsys: pytest.CaptureFixture[str]
) -> None:
    board_id, crowd = board
    await crowd.join(CLIENTS)
    await asyncio.sleep(WARMUP_SECS)
    await asyncio.to_thread(rig.pg_proxy.cut)
    # The first second lets commits that were in flight at the cut finish or fail.
    await asyncio.sleep(1.0)
    acked_at_cut = sum(len(c.acked) for c in crowd.clients)
    await asyncio.sleep(1.0)
    acked_during = sum(len(c.acked) for c in crowd.clients) - acked_at_cut
    ready = {port: rig.cluster.get(port, "/readyz") for port in rig.cluster.pods()}
    await asyncio.to_thread(rig.pg_proxy.restore)
    recovery = await crowd.probe()
    await asyncio.sleep(AFTERMATH_SECS)
    await crowd.stop()
    report = await verify(rig.cluster, board_id, crowd, "PostgreSQL cut for 2 s", recovery)
    _print(capsys, report)
    assert report.ops_lost == 0
    # Nothing can commit, so nothing is acked; pods say why (readiness names the database).
    assert acked_during == 0, f"{acked_during} ops acked while the database was unreachable"
    assert all(code == 503 and "database" in body for code, body in ready.values()), ready
