"""
The fault tests' rig: a private local cluster of two pods in a layout (`single`, or `sharded`:
the channel layer over two Redis shards), the services a test may break (Redis, a proxy in front
of PostgreSQL), and `running_rig`, which starts one and stops everything it started. The
fixtures that share and heal a rig are in tests/cluster/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.cluster.localcluster import LocalCluster
from tests.support.services import RedisShards, TcpProxy

#: Drain budget of the test pods (seconds): short, so SIGTERM and scale-down tests stay fast.
DRAIN_SECS = float(os.environ.get("INKROOM_CLUSTER_DRAIN_SECS", "5"))
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
SHARDED = Layout("sharded", redis_shards=2, oplog_partitions=4)
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
        if layout.oplog_partitions:
            # While the pods are up, as an operator would: the command works online.
            cluster.manage("partition_oplog", "--partitions", str(layout.oplog_partitions))
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
