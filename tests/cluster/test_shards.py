"""
The sharded layout in every run (issue 18 §3): the channel layer over two Redis shards, the pods'
channels on both, board_op hash-partitioned by board (partitioned while the pods were up), and
the hopping workload through a SIGKILL of a pod and a restart of the shard that holds the pods
group. Nothing may be refused, lost or stored twice, as on one Redis and one table.

The whole fault suite runs on this layout with INKROOM_CLUSTER_LAYOUTS=sharded (conftest.py);
this is the one check kept in `make test`, on a cluster of its own beside the package's.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator

import pytest
import redis

from config.channel_layer import ShardedRedisChannelLayer
from realtime.cluster.fanout import PODS_GROUP
from tests.cluster.hopping import Hopper
from tests.cluster.hoprun import Fault, hoppers_on, pod_fault, run_hopping, verdict
from tests.cluster.rig import SHARDED, FaultRig, running_rig
from tests.support.wsclient import BoardClient, token_header

pytestmark = [pytest.mark.cluster, pytest.mark.multiprocess, pytest.mark.slow]

#: Ports beside the package's rig: nginx 18340, pods from 18341, Redis 18394 and 18396, the
#: PostgreSQL proxy 18395 (with the default bases).
PORT_OFFSET = 10
SERVICE_OFFSET = 4
#: A new pod gets a random channel name, so a shard at random: tries to get one on each.
SPREAD_TRIES = 10


def _layer(rig: FaultRig) -> ShardedRedisChannelLayer:
    return ShardedRedisChannelLayer(hosts=[shard.url for shard in rig.redis.shards])


def _members(rig: FaultRig) -> list[str]:
    """
    The channels in the pods group, read where channels_redis keeps it.
    """
    shard = rig.redis.shards[_layer(rig).consistent_hash(PODS_GROUP)]
    prefix = rig.cluster.env["CLUSTER_CHANNEL_PREFIX"]
    client = redis.Redis.from_url(shard.url)
    try:
        return [m.decode() for m in client.zrange(f"{prefix}:group:{PODS_GROUP}", 0, -1)]
    finally:
        client.close()


def _wait_members(rig: FaultRig, count: int) -> list[str]:
    deadline = time.monotonic() + 15.0
    while len(members := _members(rig)) != count:
        assert time.monotonic() < deadline, f"pods group holds {members}, not {count} channels"
        time.sleep(0.1)
    return members


async def _start_hubs(rig: FaultRig, board: tuple[str, str]) -> None:
    # A pod's hub (and its channel) starts with its first socket.
    for port in rig.cluster.pods():
        client = BoardClient(
            f"ws://127.0.0.1:{port}/ws/boards/{board[0]}/", headers=token_header(board[1])
        )
        await client.connect()
        await client.close()


def _spread_over_shards(rig: FaultRig) -> None:
    """
    Replace the second pod until the two pods' channels live on different shards.
    """
    layer = _layer(rig)
    board = rig.cluster.seed_board("spread")
    for _ in range(SPREAD_TRIES):
        asyncio.run(_start_hubs(rig, board))
        if len({layer.consistent_hash(c) for c in _wait_members(rig, 2)}) == 2:
            return
        rig.cluster.scale(1)
        _wait_members(rig, 1)
        rig.cluster.scale(2)
    raise AssertionError(f"the pods' channels stayed on one shard in {SPREAD_TRIES} tries")


@pytest.fixture(scope="module")
def sharded(request: pytest.FixtureRequest) -> Iterator[FaultRig]:
    with running_rig(
        request, SHARDED, port_offset=PORT_OFFSET, service_offset=SERVICE_OFFSET
    ) as rig:
        _spread_over_shards(rig)
        yield rig


def group_shard_restart(down_secs: float) -> Fault:
    """
    Kill the Redis shard that holds the pods group, keep it down, start it empty.
    """

    async def fault(rig: FaultRig, clients: list[Hopper]) -> str:
        shard = rig.redis.shards[_layer(rig).consistent_hash(PODS_GROUP)]
        await asyncio.to_thread(shard.restart, down_secs)
        return f"the pods group's shard :{shard.port} killed, {down_secs:g} s down"

    return fault


async def test_two_shards_hopping_through_a_sigkill_and_the_group_shard_restarting(
    sharded: FaultRig, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    async with hoppers_on(sharded, request.node.name) as hoppers:
        faults = [pod_fault(signal.SIGKILL), group_shard_restart(1.0)]
        report = await run_hopping(sharded, hoppers, faults)
    verdict(report, request, capsys)
    assert report.close_codes[1006] >= 1, report.close_codes
    status = sharded.cluster.manage("partition_oplog", "--status")
    assert f"{SHARDED.oplog_partitions} hash partitions" in status, status
    # A resend meets a partition's copy of the (board, client, op) key: it must be taken for a
    # resend, not fail the pod's whole tick (which the clients would only see as `unavailable`).
    failed = [
        line[:300]
        for log in sorted(sharded.cluster.state_dir.glob("pod-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "not stored" in line
    ]
    assert not failed, "\n".join(failed[:5])
    for port in sharded.cluster.pods():
        assert sharded.cluster.get(port, "/readyz")[0] == 200, f"pod :{port} not ready"
