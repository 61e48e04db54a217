"""
One simulated run: processes (real Hub objects), the layer, the log and the clients, a scenario
drawn from the seed, and the invariants checked at the end.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
from django.db import OperationalError

from realtime.engine import store
from realtime.engine.catchup import SNAP_FRAMES
from realtime.engine.hub import Hub
from realtime.wire.protocol import CloseCode
from tests.sim.client import SimClient, Violation
from tests.sim.layer import LayerFaults, SimLayer
from tests.sim.network import Connection
from tests.sim.oplog import SimLog


@dataclass
class Scenario:
    """
    Everything a seed decides up front.
    """

    processes: int
    boards: int
    clients: int
    hostile: int
    active_secs: float
    layer: LayerFaults
    db_delay_max: float
    db_fail: float
    net_delay_max: float
    hop_every: float
    offline_every: float
    reload_every: float
    kill_at: float | None
    term_at: float | None
    ops_per_sec: float

    @classmethod
    def draw(cls, rng: random.Random) -> Scenario:
        processes = rng.choice([1, 2, 2, 3])
        layer = LayerFaults(
            drop=rng.choice([0.0, 0.0, 0.05, 0.2]),
            duplicate=rng.choice([0.0, 0.0, 0.05]),
            delay_max=rng.choice([0.001, 0.01, 0.05]),
            capacity=rng.choice([100, 100, 10]),
        )
        active = rng.uniform(1.5, 4.0)
        return cls(
            processes=processes,
            boards=rng.choice([1, 1, 2]),
            clients=rng.randint(2, 4),
            hostile=rng.choice([0, 0, 1]),
            active_secs=active,
            layer=layer,
            db_delay_max=rng.choice([0.002, 0.01, 0.03]),
            db_fail=rng.choice([0.0, 0.0, 0.0, 0.03]),
            net_delay_max=rng.choice([0.001, 0.005, 0.03]),
            hop_every=rng.choice([0.7, 1.5, 3.0, 1e9]),
            offline_every=rng.choice([2.0, 1e9, 1e9]),
            reload_every=rng.choice([3.0, 1e9, 1e9]),
            kill_at=rng.uniform(0.3, active) if processes > 1 and rng.random() < 0.25 else None,
            term_at=rng.uniform(0.3, active) if processes > 1 and rng.random() < 0.2 else None,
            ops_per_sec=rng.choice([20.0, 40.0]),
        )


class SimHub(Hub):
    """
    A real hub whose database calls go to the simulated log and whose layer is the world's.
    """

    def __init__(self, world: World, name: str) -> None:
        super().__init__(clock=world.clock)
        self.id = name
        self.layer = world.layer
        self.world = world
        self.dead = False

    async def write(self, fn: Any, *args: Any) -> Any:
        return await self.world.database(fn, args)

    async def read(self, fn: Any, *args: Any) -> Any:
        return await self.world.database(fn, args)

    def die(self) -> None:
        """
        SIGKILL: every task stops where it is; nothing more is written or sent.
        """
        self.dead = True
        for task in [*self._tasks, *self._jobs, *self.joins.tasks()]:
            task.cancel()
        for room in self.rooms.values():
            for peer in room.peers.values():
                peer.send_queue.cancel()


@dataclass
class Faults:
    injected: int = 0
    server_errors: list[str] = field(default_factory=list)


class _ErrorLog(logging.Handler):
    def __init__(self, faults: Faults) -> None:
        super().__init__(logging.ERROR)
        self.faults = faults

    def emit(self, record: logging.LogRecord) -> None:
        self.faults.server_errors.append(record.getMessage())


class World:
    def __init__(self, seed: int, clock: Callable[[], float]) -> None:
        self.seed = seed
        self.clock = clock
        self.rng = random.Random(seed)
        self.scenario = Scenario.draw(self.rng)
        self.log = SimLog()
        self.layer = SimLayer(random.Random(self.rng.random()), self.scenario.layer)
        self.faults = Faults()
        self.hubs: list[SimHub] = []
        self.clients: list[SimClient] = []
        self.boards = [f"s{seed}b{k}" for k in range(self.scenario.boards)]
        self.calm = False
        self._n_hubs = 0

    # --- the database ------------------------------------------------------------------------

    async def database(self, fn: Any, args: tuple[Any, ...]) -> Any:
        rng, sc = self.rng, self.scenario
        await asyncio.sleep(rng.uniform(0, sc.db_delay_max))
        impl = self.log.implementation(fn)
        if not self.calm and rng.random() < sc.db_fail:
            self.faults.injected += 1
            if fn is store.commit_tick and rng.random() < 0.5:
                impl(*args)  # committed, but the reply was lost
            raise OperationalError("injected database failure")
        result = impl(*args)
        await asyncio.sleep(rng.uniform(0, sc.db_delay_max))
        return result

    # --- processes and connections -----------------------------------------------------------

    def start_hub(self) -> SimHub:
        self._n_hubs += 1
        hub = SimHub(self, f"p{self._n_hubs}")
        self.hubs.append(hub)
        return hub

    def live_hubs(self) -> list[SimHub]:
        return [h for h in self.hubs if not h.dead and not h.draining]

    def connect(self, client: SimClient) -> None:
        hubs = self.live_hubs()
        if not hubs:
            client.schedule_reconnect(0.1)
            return
        # A hop prefers another process than the last one, as a reconnect through a proxy may.
        hub = self.rng.choice(hubs)
        conn = Connection(
            hub, self.rng, self.scenario.net_delay_max, client.on_frame, client.on_close
        )
        client.connected(conn)
        info = {
            "board": {"id": client.board_id, "title": "sim", "link_access": "none"},
            "client_id": client.client_id,
            "user_id": client.user_id,
            "user_name": client.name,
            "role": client.role,
            "share": None,
            "since": client.since,
            "version": client.version,
            "tentative": client.tentative,
        }
        asyncio.get_running_loop().create_task(self._open(conn, info))

    async def _open(self, conn: Connection, info: dict[str, Any]) -> None:
        await conn.hub.start()
        await conn.open(info)

    def kill(self, hub: SimHub) -> None:
        conns = [c for c in self._connections() if c.hub is hub]
        hub.die()
        for conn in conns:
            conn.process_died()

    async def terminate(self, hub: SimHub) -> None:
        await hub.drain()
        self.kill(hub)

    def _connections(self) -> list[Connection]:
        return [c.conn for c in self.clients if c.conn is not None]

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> list[Violation]:
        sc, rng = self.scenario, self.rng
        for board in self.boards:
            roles: dict[int | None, str] = {}
            self.log.create(board, roles)
        for _ in range(sc.processes):
            self.start_hub()
        n = sc.clients + sc.hostile
        for k in range(n):
            hostile = k >= sc.clients
            role = rng.choice(["viewer", "editor"]) if hostile else "editor"
            board = self.boards[k % len(self.boards)]
            client = SimClient(
                f"client{k:02d}",
                board,
                100 + k,
                role,
                random.Random(rng.random()),
                self.connect,
                hostile=hostile,
                # Every mix of protocol and tentatives: v1, v1 `tent`, v2, v2 compact (§2.6).
                version=1 if hostile or k % 4 < 2 else 2,
                tentative=0 if hostile or k % 2 == 0 else 1 + (k % 4 == 3),
            )
            self.log.boards[board].roles[client.user_id] = role
            self.clients.append(client)
        for client in self.clients:
            self.connect(client)
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._life(c)) for c in self.clients]
        tasks.append(loop.create_task(self._faults()))
        await asyncio.gather(*tasks)
        return await self._settle()

    async def _life(self, client: SimClient) -> None:
        sc, rng = self.scenario, client.rng
        loop = asyncio.get_running_loop()
        end = loop.time() + sc.active_secs
        while loop.time() < end and not client.stopped:
            await asyncio.sleep(rng.expovariate(sc.ops_per_sec))
            if client.hostile:
                client.hostile_frame()
                continue
            roll = rng.random() * sc.ops_per_sec
            if roll < 1 / sc.hop_every and client.conn is not None:
                client.disconnect()
                client.schedule_reconnect(rng.uniform(0.0, 0.1))
            elif roll < 1 / sc.hop_every + 1 / sc.offline_every and client.conn is not None:
                client.disconnect()
                client.schedule_reconnect(rng.uniform(0.3, 1.5))
            elif roll < 1 / sc.hop_every + 1 / sc.offline_every + 1 / sc.reload_every:
                client.reload()
                client.schedule_reconnect(rng.uniform(0.05, 0.3))
            else:
                client.draw()

    async def _faults(self) -> None:
        sc = self.scenario
        events = sorted(
            [(t, kind) for t, kind in ((sc.kill_at, "kill"), (sc.term_at, "term")) if t is not None]
        )
        now = 0.0
        for at, kind in events:
            await asyncio.sleep(at - now)
            now = at
            hubs = self.live_hubs()
            if len(hubs) < 2:
                continue
            hub = self.rng.choice(hubs)
            self.faults.injected += 1
            if kind == "kill":
                self.kill(hub)
            else:
                await self.terminate(hub)
            self.start_hub()  # the replacement pod

    async def _settle(self, timeout: float = 60.0) -> list[Violation]:
        """
        Calm the world, let every client reconnect and resend, then check the invariants.
        """
        self.calm = True
        self.layer.faults.calm()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for client in self.clients:
            if client.conn is None:
                client.schedule_reconnect(0.0)
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            if self._settled():
                break
        return self.check(settled=self._settled())

    def _settled(self) -> bool:
        # A resend still being committed (its author already has the ack of the first copy)
        # is in flight: its tentative copies are withdrawn only when that commit ends.
        for hub in self.live_hubs():
            if hub.tick_lock.locked() or any(r.pending for r in hub.rooms.values()):
                return False
        for client in self.clients:
            if client.stopped:
                continue
            head = self.log.boards[client.board_id].head
            if client.conn is None or not client.synced or client.outbox:
                return False
            if client.applied != head:
                return False
        return True

    # --- the invariants ------------------------------------------------------------------------

    def check(self, *, settled: bool) -> list[Violation]:
        out: list[Violation] = []
        for client in self.clients:
            out.extend(client.violations)
        if not settled:
            stuck = [
                f"{c.name}(conn={c.conn is not None} synced={c.synced} outbox={len(c.outbox)} "
                f"applied={c.applied}/{self.log.boards[c.board_id].head})"
                for c in self.clients
            ]
            out.append(Violation("did not settle", ", ".join(stuck)))
        for board_id in self.boards:
            entries = self.log.boards[board_id].entries
            seen: set[tuple[str, int]] = set()
            for k, raw in enumerate(entries, start=1):
                entry = msgpack.unpackb(raw)
                if entry["s"] != k:
                    out.append(Violation("seq gap", f"{board_id}: entry {k} has seq {entry['s']}"))
                key = (entry["c"], entry["i"])
                if key in seen:
                    out.append(Violation("stored twice", f"{board_id}: op {key}"))
                seen.add(key)
        for client in self.clients:
            board = self.log.boards[client.board_id]
            for i, seq in client.log.acked.items():
                stored = board.index.get((client.client_id, i))
                if stored != seq:
                    detail = f"{client.name} op {i} acked at {seq}, log has {stored}"
                    out.append(Violation("acked op not stored", detail))
            if not client.hostile:
                for i, meta in client.created.items():
                    if meta["valid"] and (client.client_id, i) not in board.index:
                        refused = any(i in ids for _c, ids, _m in client.log.refused)
                        if not refused:  # a refused one is reported as such
                            out.append(Violation("op lost", f"{client.name} op {i} not in log"))
            if settled and not client.stopped:
                truth = self.log.state(client.board_id)
                if client.replica.elements != truth.elements:
                    detail = f"{client.name} at {client.applied}: replica differs from the log"
                    out.append(Violation("replica diverged", detail))
            if settled and client.tentatives:
                # Settled: every op is acked or refused, so every tentative was committed (its
                # entry replaced it) or withdrawn; one left is an op the log does not have.
                keys = sorted(client.tentatives)[:5]
                out.append(Violation("tentative kept", f"{client.name} holds {keys}"))
            if client.log.duplicates:
                detail = f"{client.name}: {client.log.duplicates} live frames repeated applied ops"
                out.append(Violation("duplicate after synced", detail))
            bad_closes = [c for c in client.log.closes if c == CloseCode.INTERNAL_ERROR]
            if bad_closes and not self.faults.injected:
                out.append(Violation("1011", f"{client.name} closed with 1011 without a fault"))
        return out


def run_seed(seed: int) -> tuple[World, list[Violation]]:
    """
    Run one seed on a fresh virtual loop; return the world and what it violated.
    """

    from tests.sim.vloop import VirtualClock, VirtualLoop

    clock = VirtualClock()
    SNAP_FRAMES._frames.clear()
    SNAP_FRAMES.size = 0
    loop = VirtualLoop(clock)
    world = World(seed, clock)
    handler = _ErrorLog(world.faults)
    logging.getLogger("realtime").addHandler(handler)
    try:
        asyncio.set_event_loop(loop)
        violations = loop.run_until_complete(_run_and_stop(world))
    finally:
        logging.getLogger("realtime").removeHandler(handler)
        asyncio.set_event_loop(None)
        loop.close()
    return world, violations


async def _run_and_stop(world: World) -> list[Violation]:
    try:
        return await world.run()
    finally:
        for hub in world.hubs:
            if not hub.dead:
                hub.die()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
