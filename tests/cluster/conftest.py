"""
Fixtures of the fault tests: one private local cluster per layout, reset before each test.

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

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.cluster.localcluster import LocalCluster
from tests.cluster.services import RedisShards, TcpProxy

#: Drain budget of the test pods (seconds): short, so SIGTERM and scale-down tests stay fast.
DRAIN_SECS = float(os.environ.get("INKROOM_CLUSTER_DRAIN_SECS", "5"))
#: How long a test waits for every pod to be ready again after the previous test's fault.
HEAL_SECS = 20.0
#: Database of the fault tests' cluster (created and migrated by cluster.sh up; dropped first).
#: Another name with INKROOM_CLUSTER_DATABASE, so two runs on one PostgreSQL (with their own
#: port bases) do not drop each other's database.
DATABASE_NAME = os.environ.get("INKROOM_CLUSTER_DATABASE", "inkroom_faults")


@dataclass(frozen=True)
class Layout:
    """
    How the cluster's services are laid out.
    """

    name: str
    #: Redis servers the channel layer is spread over (REDIS_URL with commas).
    redis_shards: int
    #: Hash partitions of board_op (manage.py partition_oplog), 0 for the plain table.
    oplog_partitions: int


SINGLE = Layout("single", redis_shards=1, oplog_partitions=0)
SHARDED = Layout("sharded", redis_shards=2, oplog_partitions=0)
LAYOUTS = {layout.name: layout for layout in (SINGLE, SHARDED)}


def selected_layouts() -> list[Layout]:
    names = os.environ.get("INKROOM_CLUSTER_LAYOUTS", SINGLE.name)
    try:
        return [LAYOUTS[name.strip()] for name in names.split(",") if name.strip()]
    except KeyError as missing:
        raise pytest.UsageError(
            f"INKROOM_CLUSTER_LAYOUTS: unknown layout {missing}; known: {', '.join(LAYOUTS)}"
        ) from None


@dataclass
class FaultRig:
    """
    The cluster and the two services a test may break.
    """

    cluster: LocalCluster
    redis: RedisShards
    pg_proxy: TcpProxy
    log_dir: Path
    layout: Layout


def _postgres_target() -> tuple[str, int, str]:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    if not url.scheme.startswith("postgres"):
        pytest.skip("the cluster fault tests need PostgreSQL (DATABASE_URL=postgres://...)")
    auth = url.netloc.rsplit("@", 1)[0] if "@" in url.netloc else "postgres"
    return url.hostname or "127.0.0.1", url.port or 5432, auth


def _fresh_database(direct_url: str) -> None:
    # A new database per run: migrations that changed since the last run cannot trip `up`.
    admin = urlsplit(direct_url)._replace(path="/postgres").geturl()
    name = urlsplit(direct_url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def _check_tools() -> None:
    for tool in ("redis-server", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/ensure-services.sh)")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (scripts/ensure-services.sh)")


@contextlib.contextmanager
def running_rig(
    request: pytest.FixtureRequest, layout: Layout, *, port_offset: int = 0, service_offset: int = 0
) -> Iterator[FaultRig]:
    """
    Start a private cluster of two pods in `layout`; stop everything it started on exit.

    The offsets move nginx and the pods, and the services; with either set the database gets
    the layout's name as a suffix, so two rigs can live at once.
    """
    _check_tools()
    lb_port = int(os.environ.get("INKROOM_CLUSTER_PORT_BASE", "18330")) + port_offset
    service_port = (
        int(os.environ.get("INKROOM_CLUSTER_SERVICE_PORT_BASE", "18390")) + service_offset
    )
    own = port_offset or service_offset
    database = f"{DATABASE_NAME}_{layout.name}" if own else DATABASE_NAME
    host, port, auth = _postgres_target()
    # Not under pytest's basetemp: pytest prunes old basetemps of *any* concurrent run as the
    # same user, and losing the state directory would orphan the pods it records.
    log_dir = Path(tempfile.mkdtemp(prefix=f"inkroom-cluster-{layout.name}-"))
    failed_before = request.session.testsfailed
    # The first shard on the service port, the proxy on the next, further shards after it.
    shard_ports = [service_port, *range(service_port + 2, service_port + 1 + layout.redis_shards)]
    redis = RedisShards(shard_ports, log_dir)
    redis.start()
    proxy = TcpProxy(service_port + 1, (host, port))
    proxy.start()
    cluster = LocalCluster(
        state_dir=log_dir / "state",
        lb_port=lb_port,
        pod_base_port=lb_port + 1,
        database_url=f"postgres://{auth}@127.0.0.1:{service_port + 1}/{database}",
        direct_database_url=f"postgres://{auth}@{host}:{port}/{database}",
        redis_url=redis.url,
        drain_secs=DRAIN_SECS,
    )
    try:
        _fresh_database(cluster.direct_database_url)
        cluster.up(2)
        yield FaultRig(cluster=cluster, redis=redis, pg_proxy=proxy, log_dir=log_dir, layout=layout)
    finally:
        try:
            cluster.down()
            _assert_nothing_left(cluster.state_dir)
        finally:
            proxy.close()
            redis.stop()
            if request.session.testsfailed == failed_before:
                shutil.rmtree(log_dir, ignore_errors=True)


# Package scope: the cluster lives while tests/cluster runs, not during the rest of the suite.
@pytest.fixture(scope="package", params=selected_layouts(), ids=lambda layout: layout.name)
def fault_rig(request: pytest.FixtureRequest) -> Iterator[FaultRig]:
    with running_rig(request, request.param) as rig:
        yield rig


def _assert_nothing_left(state_dir: Path) -> None:
    # `down` must stop exactly what the script started: every pod carries the state directory
    # in its environment, and nginx names its prefix on its command line.
    mark = f"INKROOM_CLUSTER_DIR={state_dir}".encode()
    left = []
    for proc in Path("/proc").iterdir():
        try:
            pod = mark in (proc / "environ").read_bytes().split(b"\0")
            nginx = str(state_dir).encode() in (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if pod or nginx:
            left.append(proc.name)
    assert not left, f"cluster.sh down left processes running: {left}"


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
