"""
Issue 14: clients that reconnect to another process every 1.5-3 s while drawing, with no pod
fault, through a SIGKILL and through a SIGTERM (drain, 1012) of a pod. No valid op may be
refused, no acknowledged op lost, none stored twice, and every client must end equal to the log.

The workload (tests/cluster/hopping.py) is seeded: a failure prints the seed and the command that
replays it (INKROOM_HOP_SEED=...). Each test prints one `[cluster hop]` line of figures.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests.cluster.conftest import DRAIN_SECS, FaultRig
from tests.cluster.hopping import Hopper, HopReport, check, hop_seed, replay_command, settle
from tests.realtime.wsclient import token_header

pytestmark = [pytest.mark.cluster, pytest.mark.multiprocess, pytest.mark.slow]

#: Hopping clients on the one board (the issue: three; six here so that both pods commit on it
#: nearly every tick, which is what leaves a pod's state behind the log).
CLIENTS = 6
#: Drawing time of each test (seconds), and when the pod fault comes.
RUN_SECS = 14.0
FAULT_AT_SECS = 5.0


#: (board id, seed, clients) of one test.
Hoppers = tuple[str, int, list[Hopper]]


@pytest.fixture
async def hoppers(rig: FaultRig, request: pytest.FixtureRequest) -> AsyncIterator[Hoppers]:
    board_id, token = rig.cluster.seed_board(request.node.name)
    seed = hop_seed()
    clients = [Hopper(board_id, k + 1, seed, token_header(token)) for k in range(CLIENTS)]
    try:
        yield board_id, seed, clients
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def _ports(rig: FaultRig) -> list[int]:
    return sorted(rig.cluster.pods())


async def _hop(rig: FaultRig, hoppers: Hoppers, fault: signal.Signals | None) -> HopReport:
    """
    Run the hopping workload for RUN_SECS, with `fault` sent at FAULT_AT_SECS to the pod holding
    most of the clients (then a replacement pod started, so the clients keep hopping between
    two), and check the result.
    """
    board_id, seed, clients = hoppers
    ports = _ports(rig)
    assert len(ports) == 2, ports
    for k, client in enumerate(clients):
        await client.hop(ports[k % len(ports)])  # both pods draw on the board from the start
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.draw(stop), name=f"{c.name}-draw") for c in clients]
    tasks += [
        asyncio.create_task(c.roam(stop, lambda: _ports(rig)), name=f"{c.name}-roam")
        for c in clients
    ]
    started = time.monotonic()
    label = "no fault"
    try:
        if fault is not None:
            await asyncio.sleep(FAULT_AT_SECS)
            on = Counter(c.port for c in clients if c.connected)
            victim = max(ports, key=lambda port: on[port])
            label = f"{fault.name} of the pod of {on[victim]} of {CLIENTS} clients"
            rig.cluster.signal_pod(victim, fault)
            deadline = time.monotonic() + DRAIN_SECS + 2.0
            while victim in rig.cluster.pods():
                assert time.monotonic() < deadline, f"pod :{victim} outlived its {fault.name}"
                await asyncio.sleep(0.05)
            await asyncio.to_thread(rig.cluster.scale, 2)  # a fresh pod to hop to
        await asyncio.sleep(max(0.0, RUN_SECS - (time.monotonic() - started)))
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await settle(clients, lambda: _ports(rig))
    report = HopReport(fault=label, seed=seed, clients=CLIENTS)
    return await check(rig.cluster, board_id, clients, report)


def _verdict(
    report: HopReport, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n" + report.line())
    replay = replay_command(report.seed, request.node.nodeid)
    assert not report.problems, "\n".join(
        [*report.problems, f"seed {report.seed}; replay: {replay}"]
    )


async def test_hopping_between_two_pods_refuses_and_loses_nothing(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await _hop(rig, hoppers, None)
    _verdict(report, request, capsys)
    assert report.moves >= CLIENTS * 3, "the clients hardly hopped"


async def test_hopping_through_sigkill_of_a_pod(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await _hop(rig, hoppers, signal.SIGKILL)
    _verdict(report, request, capsys)
    assert report.close_codes[1006] >= 1, report.close_codes


async def test_hopping_through_sigterm_of_a_pod(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await _hop(rig, hoppers, signal.SIGTERM)
    _verdict(report, request, capsys)
    assert report.close_codes[1012] >= 1, report.close_codes
