"""
Fixtures of the fault tests: one private local cluster per layout (tests/cluster/rig.py), reset
before each test.

Layouts: `single` (one Redis, the plain op log) and `sharded` (the channel layer over two Redis
shards, board_op hash-partitioned by board; docs/capacity.md). The package's tests run on the
layouts INKROOM_CLUSTER_LAYOUTS names (comma-separated; default `single`), one after the other:
`INKROOM_CLUSTER_LAYOUTS=single,sharded pytest -m cluster tests/cluster`. test_shards.py keeps
one sharded check in every run, on a cluster of its own (PORT_OFFSET).

Ports (this suite's allocation on shared machines): nginx 18330, pods from 18331, the private
Redis 18390 (more shards: 18392, 18393, ...) and the PostgreSQL proxy 18391; override with
INKROOM_CLUSTER_PORT_BASE (nginx; pods follow it) and INKROOM_CLUSTER_SERVICE_PORT_BASE (Redis;
the proxy is the next port). The cluster's database is `inkroom_faults` on DATABASE_URL's
server; INKROOM_CLUSTER_DATABASE names another. Two concurrent runs on one machine must set all
three.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.cluster.localcluster import LocalCluster
from tests.cluster.rig import FaultRig, running_rig, selected_layouts

#: How long a test waits for every pod to be ready again after the previous test's fault.
HEAL_SECS = 20.0


# Package scope: the cluster lives while tests/cluster runs, not during the rest of the suite.
@pytest.fixture(scope="package", params=selected_layouts(), ids=lambda layout: layout.name)
def fault_rig(request: pytest.FixtureRequest) -> Iterator[FaultRig]:
    with running_rig(request, request.param) as rig:
        yield rig


def _wait_all_ready(cluster: LocalCluster) -> None:
    # Each test starts from a healthy cluster: an earlier fault may still be healing.
    deadline = time.monotonic() + HEAL_SECS
    while True:
        answers = {port: cluster.get(port, "/readyz") for port in cluster.pods()}
        if all(code == 200 for code, _ in answers.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cluster not ready {HEAL_SECS} s after the last fault: {answers}")
        time.sleep(0.1)


@pytest.fixture
def rig(fault_rig: FaultRig, request: pytest.FixtureRequest) -> Iterator[FaultRig]:
    """
    The session's rig, healed from whatever the previous test broke, back at 2 pods.
    """
    if not fault_rig.redis.running:
        fault_rig.redis.start()
    fault_rig.pg_proxy.restore()
    fault_rig.cluster.scale(2)
    _wait_all_ready(fault_rig.cluster)
    failed_before = request.session.testsfailed
    yield fault_rig
    if request.session.testsfailed > failed_before:
        print(f"cluster state and logs kept in {fault_rig.log_dir}\n{fault_rig.cluster.logs()}")
