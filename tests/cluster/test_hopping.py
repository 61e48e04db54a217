"""
Issue 14: clients that reconnect to another process every 1.5-3 s while drawing, with no pod
fault, through a SIGKILL and through a SIGTERM (drain, 1012) of a pod. No valid op may be
refused, no acknowledged op lost, none stored twice, and every client must end equal to the log.

The workload (tests/cluster/hopping.py, run by tests/cluster/hoprun.py) is seeded: a failure
prints the seed and the command that replays it (INKROOM_HOP_SEED=...). Each test prints one
`[cluster hop]` line of figures.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import pytest

from tests.cluster.hoprun import CLIENTS, Hoppers, hoppers_on, pod_fault, run_hopping, verdict
from tests.cluster.rig import FaultRig

pytestmark = [pytest.mark.cluster, pytest.mark.multiprocess, pytest.mark.slow]


@pytest.fixture
async def hoppers(rig: FaultRig, request: pytest.FixtureRequest) -> AsyncIterator[Hoppers]:
    async with hoppers_on(rig, request.node.name) as hoppers:
        yield hoppers


async def test_hopping_between_two_pods_refuses_and_loses_nothing(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await run_hopping(rig, hoppers, [])
    verdict(report, request, capsys)
    assert report.moves >= CLIENTS * 3, "the clients hardly hopped"


async def test_hopping_through_sigkill_of_a_pod(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await run_hopping(rig, hoppers, [pod_fault(signal.SIGKILL)])
    verdict(report, request, capsys)
    assert report.close_codes[1006] >= 1, report.close_codes


async def test_hopping_through_sigterm_of_a_pod(
    rig: FaultRig,
    hoppers: Hoppers,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = await run_hopping(rig, hoppers, [pod_fault(signal.SIGTERM)])
    verdict(report, request, capsys)
    assert report.close_codes[1012] >= 1, report.close_codes
