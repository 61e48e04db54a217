"""
One run of the hopping workload (tests/cluster/hopping.py) on a rig, with an optional fault at
FAULT_AT_SECS, and its verdict: shared by test_hopping.py and test_shards.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.cluster.hopping import Hopper, HopReport, check, hop_seed, replay_command, settle
from tests.cluster.rig import DRAIN_SECS, FaultRig
from tests.support.wsclient import token_header

#: Hopping clients on the one board (the issue: three; six here so that both pods commit on it
#: nearly every tick, which is what leaves a pod's state behind the log).
CLIENTS = 6
#: Drawing time of each run (seconds), and when the fault comes.
RUN_SECS = 14.0
FAULT_AT_SECS = 5.0

#: (board id, seed, clients) of one run.
Hoppers = tuple[str, int, list[Hopper]]
#: A fault: given the rig and the clients, break something, wait until it took, return its label.
Fault = Callable[[FaultRig, list[Hopper]], Awaitable[str]]


@contextlib.asynccontextmanager
async def hoppers_on(rig: FaultRig, title: str) -> AsyncIterator[Hoppers]:
    """
    CLIENTS hoppers on a new board of the rig's cluster, closed on exit.
    """
    board_id, token = rig.cluster.seed_board(title)
    seed = hop_seed()
    clients = [Hopper(board_id, k + 1, seed, token_header(token)) for k in range(CLIENTS)]
    try:
        yield board_id, seed, clients
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def pod_ports(rig: FaultRig) -> list[int]:
    return sorted(rig.cluster.pods())


def pod_fault(signum: signal.Signals) -> Fault:
    """
    `signum` to the pod holding most of the clients, then a replacement pod, so the clients keep
    hopping between two.
    """

    async def fault(rig: FaultRig, clients: list[Hopper]) -> str:
        ports = pod_ports(rig)
        on = Counter(c.port for c in clients if c.connected)
        victim = max(ports, key=lambda port: on[port])
        rig.cluster.signal_pod(victim, signum)
        deadline = time.monotonic() + DRAIN_SECS + 2.0
        while victim in rig.cluster.pods():
            assert time.monotonic() < deadline, f"pod :{victim} outlived its {signum.name}"
            await asyncio.sleep(0.05)
        await asyncio.to_thread(rig.cluster.scale, 2)  # a fresh pod to hop to
        return f"{signum.name} of the pod of {on[victim]} of {len(clients)} clients"

    return fault


async def run_hopping(rig: FaultRig, hoppers: Hoppers, faults: list[Fault]) -> HopReport:
    """
    Run the hopping workload for RUN_SECS, the faults one after the other from FAULT_AT_SECS,
    and check the result.
    """
    board_id, seed, clients = hoppers
    ports = pod_ports(rig)
    assert len(ports) == 2, ports
    for k, client in enumerate(clients):
        await client.hop(ports[k % len(ports)])  # both pods draw on the board from the start
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.draw(stop), name=f"{c.name}-draw") for c in clients]
    tasks += [
        asyncio.create_task(c.roam(stop, lambda: pod_ports(rig)), name=f"{c.name}-roam")
        for c in clients
    ]
    started = time.monotonic()
    labels = []
    try:
        if faults:
            await asyncio.sleep(FAULT_AT_SECS)
        for fault in faults:
            labels.append(await fault(rig, clients))
        await asyncio.sleep(max(0.0, RUN_SECS - (time.monotonic() - started)))
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await settle(clients, lambda: pod_ports(rig))
    report = HopReport(fault=", then ".join(labels) or "no fault", seed=seed, clients=CLIENTS)
    return await check(rig.cluster, board_id, clients, report)


def verdict(
    report: HopReport, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    Print the run's figures; fail with every problem, the seed and the replay command.
    """
    with capsys.disabled():
        print("\n" + report.line())
    replay = replay_command(report.seed, request.node.nodeid)
    assert not report.problems, "\n".join(
        [*report.problems, f"seed {report.seed}; replay: {replay}"]
    )
