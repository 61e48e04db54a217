"""
Servers under test as named targets, and the client layout of a run on each of them.

A layout is a list of boards, each `(clients, drawers)`. Inkroom gets fresh boards and socket
tickets (one per client: a ticket opens one socket) for every run; the reference servers take
any board name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench import servers, setup
from bench.client import ClientSpec, client_id_for

INKROOM = "inkroom"
CHANNELS_REF = "channels-ref"
WS_RELAY = "ws-relay"
Layout = list[tuple[int, int]]
#: Ports one invocation cycles through above port_base + 10: 40 leaves room for a second
#: invocation (the smoke test) at port_base + 50 inside the bench's 18400-18499 range.
PORTS_PER_RUN = 40


@dataclass
class Bench:
    """
    One invocation's options and state (ports, Django readiness, the rows measured so far).
    """

    duration: float = 20.0
    sweep_duration: float = 8.0
    drain: float = 3.0
    workers: int = 2
    redis: bool = True
    points_per_op: int = 4
    scale: float = 1.0
    port_base: int = 18400
    references: bool = True
    profile: bool = False
    #: Inkroom protocol versions to measure, in order; the first is the one single-protocol
    #: scenarios (D, E, G, S) use. A, B and C measure each and compare v2 with v1.
    protocols: tuple[int, ...] = (2,)
    pointer_hz: float = 120.0
    rows: list[dict[str, object]] = field(default_factory=list)
    _env: dict[str, str] | None = None
    _next_port: int = 0

    def inkroom_env(self, *, redis: bool | None = None) -> dict[str, str]:
        env = setup.server_env(redis=self.redis if redis is None else redis)
        if self._env is None:
            setup.django_init(env)
            setup.reset_boards()
            self._env = env
        return env

    def port(self) -> int:
        # A fresh port per server: a stopped server's port may sit in TIME_WAIT.
        self._next_port = (self._next_port + 1) % PORTS_PER_RUN
        return self.port_base + 10 + self._next_port

    def n(self, count: int) -> int:
        """
        Scale a client or board count (quick runs use --scale < 1).
        """
        return max(1, round(count * self.scale))


@contextlib.contextmanager
def started(
    bench: Bench,
    target: str,
    *,
    processes: int = 1,
    env_extra: dict[str, str] | None = None,
) -> Iterator[list[servers.Server]]:
    """
    Start the target's server process(es), yield them, and stop them afterwards.
    """
    procs: list[servers.Server] = []
    try:
        for _ in range(processes):
            port = bench.port()
            if target == INKROOM:
                env = {**bench.inkroom_env(), **(env_extra or {})}
                procs.append(servers.inkroom(port, env).start())
            elif target == CHANNELS_REF:
                procs.append(servers.channels_reference(port).start())
            elif target == WS_RELAY:
                procs.append(servers.relay(port).start())
            else:
                raise ValueError(f"unknown target {target!r}")
        yield procs
    finally:
        for proc in procs:
            proc.stop()


#: Inkroom clients ask for tentative ops (protocol §2.6) and count an op delivered when its
#: tentative arrives (bench.client); `--no-tentative` measures committed delivery only.
TENTATIVE = True


def client_specs(
    target: str,
    layout: Layout,
    ports: list[int],
    *,
    slow: int = 0,
    since: int = 0,
    protocol: int = 2,
) -> list[ClientSpec]:
    """
    One ClientSpec per client of the layout; clients alternate over `ports` (G), and `slow`
    extra non-reading clients join the first board.
    """
    board_ids = setup.create_boards(len(layout), "bench") if target == INKROOM else []
    specs: list[ClientSpec] = []
    slot = 0
    for b, (clients, drawers) in enumerate(layout):
        extra = slow if b == 0 else 0
        tickets = setup.tickets(board_ids[b], clients + extra) if target == INKROOM else []
        for k in range(clients + extra):
            if target == INKROOM:
                path = (
                    f"/ws/boards/{board_ids[b]}/?v={protocol}&since={since}"
                    f"&client_id={client_id_for(slot)}&token={tickets[k]}"
                    # The compact tentatives (2, §2.6) where the protocol has them.
                    + (f"&tentative={2 if protocol >= 2 else 1}" if TENTATIVE else "")
                )
            else:
                path = f"/ws/boards/r{b}/"
            specs.append(
                ClientSpec(
                    path=path,
                    port=ports[slot % len(ports)],
                    board=b,
                    slot=slot,
                    draw=k < drawers,
                    slow=k >= clients,
                )
            )
            slot += 1
    return specs


def mode_of(target: str) -> str:
    return "inkroom" if target == INKROOM else "relay"
