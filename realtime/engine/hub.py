"""
The per-process board hub: one per event loop, owning every live board (Room) of the process.

Sockets hand their decoded frames to the hub (realtime.engine.inbound); the tick loop turns
everything that arrived within TICK_MS into ONE append_batches transaction for all boards (in the
hub's single writer thread, so the connection is reused and only one batch is ever in flight), acks
the authors, forwards each board's `ops` frame bytes as-is to its local sockets and publishes at
most ONE channel-layer message per tick for the whole process, carrying only boards another process
holds (realtime.cluster.pods). Database and Redis round trips therefore grow with ticks, not with
boards, points or recipients.

The hub holds the rooms and their sockets and builds its parts, each handed the hub as a
realtime.engine.ports.HubPort: the tick (ticker), the layer link (realtime.cluster.pods), gap
and state repair (repair), automatic snapshots (autosnapshot), the upkeep loop (upkeep), joins
(joins) and the database threads (threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, TypeVar

from channels.layers import get_channel_layer

from board.document import Limits
from realtime import metrics
from realtime.cluster.pods import Pods
from realtime.conf import realtime_settings
from realtime.engine.autosnapshot import AutoSnapshots
from realtime.engine.counts import Counts
from realtime.engine.delivery import Delivery
from realtime.engine.drain import PROCESS_DRAIN, Drain
from realtime.engine.joins import Joins
from realtime.engine.repair import Repair
from realtime.engine.room import Peer, Room
from realtime.engine.threads import DatabaseThreads
from realtime.engine.ticker import Ticker
from realtime.engine.upkeep import Upkeep
from realtime.wire.protocol import CloseCode, ErrorCode, error_text

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: A room outlives its last socket this long: after a pod restart every client of a board
#: reconnects within seconds, and a warm room saves reloading the board for each wave.
ROOM_LINGER_SECS = 30.0
#: How long the first socket waits for the process to join the channel-layer group.
LAYER_JOIN_TIMEOUT_SECS = 2.0
#: How long to wait for the background tasks to finish after cancelling them.
TASK_STOP_TIMEOUT_SECS = 0.5

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """
    The hub of the running event loop, created on first use.
    """
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(stopping=PROCESS_DRAIN)
    return hub


class Hub:
    """
    Rooms and their sockets, the tick, the database threads and the process's layer channel.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        stopping: Drain | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        #: The one clock of the hub and its rooms and sockets (rate limits, stalls, gaps,
        #: presence, snapshots, lingering rooms): the event loop's, unless a test gives another,
        #: with `sleep` to wait on it.
        self.clock = clock
        self.sleep = sleep
        self.id = uuid.uuid4().hex[:12]
        self.rooms: dict[str, Room] = {}
        #: Set when shutdown begins: the process's flag (get_hub), or this hub's own.
        self.stopping = stopping or Drain()
        self._drained: asyncio.Task[None] | None = None
        self.counts = Counts()
        self.limits = Limits.from_settings()
        self.work = asyncio.Event()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.threads = DatabaseThreads()
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()
        self._start_lock = asyncio.Lock()
        self.tick_lock = asyncio.Lock()
        self._started = False
        self.repair = Repair(self)
        self.pods = Pods(self, self.repair)
        self.snapshots = AutoSnapshots(self)
        self.ticker = Ticker(self, self.pods, self.repair, self.snapshots)
        self.upkeep = Upkeep(self, self.pods, self.repair)
        self.joins = Joins(self, self.pods)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """
        Join the pods group and start the background tasks (idempotent).
        """
        async with self._start_lock:
            if self._started:
                return
            self._started = True
            loop = asyncio.get_running_loop()
            self._tasks = [
                loop.create_task(self.ticker.run(), name="inkroom-tick"),
                loop.create_task(self.upkeep.run(), name="inkroom-housekeeping"),
            ]
            if self.layer is not None:
                # Join the group before the first socket is served, so no batch for it is
                # missed; if the layer is away the receive task keeps retrying: a socket must
                # not fail to open because Redis is (the log still serves it).
                await self.pods.try_join_group(LAYER_JOIN_TIMEOUT_SECS)
                self._tasks.append(loop.create_task(self.pods.receive(), name="inkroom-layer"))
                self._tasks.append(loop.create_task(self.pods.publisher(), name="inkroom-publish"))

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """
        Run a background job, keeping a reference (the loop keeps only weak ones) and logging
        any failure; close() cancels what is still running.
        """
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._jobs.add(task)
        task.add_done_callback(self._job_done)
        return task

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("hub job %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        """
        Stop the tasks, leave the group and release the threads' database connections.
        """
        jobs = [*self.joins.tasks(), *self._jobs]
        for task in self._tasks + jobs:
            task.cancel()
        if self._tasks:
            # Bounded: a channels_redis receive can take a while to notice its cancellation.
            await asyncio.wait(self._tasks, timeout=TASK_STOP_TIMEOUT_SECS)
        if self.layer is not None and self.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.group_discard(self.pods.group, self.channel)
        for room in list(self.rooms.values()):
            for peer in list(room.peers.values()):
                peer.send_queue.cancel()
        self.rooms.clear()
        await self.threads.close()
        loop = asyncio.get_running_loop()
        if _hubs.get(loop) is self:
            del _hubs[loop]

    @property
    def draining(self) -> bool:
        return self.stopping.draining

    async def drain(self) -> None:
        """
        Stop accepting, commit and ack what is pending, close every socket with 1012; a second
        call waits for the first one's work.
        """
        self.stopping.begin()
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_task(self._drain())
        await self._drained

    async def _drain(self) -> None:
        close_code = CloseCode.SERVICE_RESTART
        budget = realtime_settings().drain_secs
        deadline = self.clock() + budget
        try:
            await asyncio.wait_for(self.ticker.flush(), budget / 2)
        except TimeoutError:
            logger.error("drain: pending ops not flushed within %.1f s", budget / 2)
        peers = [p for room in self.rooms.values() for p in room.peers.values()]
        for peer in peers:
            peer.send_queue.close(close_code)
        remaining = max(0.1, deadline - self.clock())
        # One wait for every writer, not a wait_for + shield (two tasks) per socket.
        writers = {p.send_queue.writer for p in peers}
        if writers:
            await asyncio.wait(writers, timeout=remaining)
        logger.info("drain: closed %s sockets with %s", len(peers), close_code)

    # --- database threads --------------------------------------------------------------------

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """
        Run `fn` in the writer thread (append transactions only).
        """
        return await self.threads.write(fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """
        Run `fn` in a reader thread (catch-ups, loads, gap fills, role checks, snapshots).
        """
        return await self.threads.read(fn, *args)

    # --- sockets -----------------------------------------------------------------------------

    async def join(self, info: dict[str, Any], send: Callable[..., Any], since: int) -> Peer:
        """
        Register an accepted socket, send `hello` and start its catch-up (realtime.engine.joins).
        """
        if not self._started or self._start_lock.locked():
            await self.start()
        return await self.joins.join(info, send, since)

    def start_catch_up(self, room: Room, peer: Peer, since: int) -> None:
        """
        (Re)start the peer's catch-up from `since`; a running one is superseded.
        """
        self.joins.start_catch_up(room, peer, since)

    def leave(self, peer: Peer) -> None:
        """
        Forget a socket (idempotent); the room goes when its last socket and ops are gone.
        """
        room = self.rooms.get(peer.board_id)
        if room is None or room.peers.pop(peer.id, None) is None:
            return
        metrics.CONNECTIONS.dec()
        self.joins.left(peer)
        room.presence_dirty = True
        self.pods.announce.add(room.board_id)
        self.work.set()
        if not room.peers:
            room.empty_since = self.clock()
            self.count_rooms()

    def count_rooms(self) -> None:
        metrics.BOARDS_ACTIVE.set(sum(1 for room in self.rooms.values() if room.peers))

    def forget_idle_rooms(self, now: float) -> None:
        """
        Drop rooms without sockets for ROOM_LINGER_SECS (kept warm for reconnect storms).
        """
        for room in list(self.rooms.values()):
            idle = room.empty_since is not None and now - room.empty_since >= ROOM_LINGER_SECS
            if idle and not room.peers and not room.pending and not room.spec_ops:
                self.rooms.pop(room.board_id, None)
        self.count_rooms()

    def close_peer(self, peer: Peer, code: int, *, now: bool = False) -> None:
        """
        Close a socket with `code` (after its queued frames, unless `now`).
        """
        if now:
            peer.send_queue.abort(code)
        else:
            peer.send_queue.close(code)
        self.leave(peer)

    def close_user(self, user_id: int | None, credential: str = "") -> None:
        """
        Close with 4001 the sockets of `user_id` (the account is gone), or only those admitted
        by `credential` or any credential starting with it ("session:" names all their
        sessions: it was revoked).
        """
        if user_id is None:
            return
        gone = [
            p
            for r in self.rooms.values()
            for p in r.peers.values()
            if p.user_id == user_id and p.credential.startswith(credential)
        ]
        for peer in gone:
            self.close_peer(peer, CloseCode.UNAUTHENTICATED)

    def drop_room(self, room: Room, code: int) -> None:
        """
        Close every socket of a room (board deleted or unloadable) and forget it.
        """
        for peer in list(room.peers.values()):
            self.close_peer(peer, code)
        room.pending.clear()
        self.rooms.pop(room.board_id, None)
        self.count_rooms()

    def fail_room(self, room: Room) -> None:
        """
        A server bug while serving this room: close its sockets with 1011 (they reconnect, catch
        up from the log and resend what was not acknowledged) and reload its state. Other rooms
        and sockets are untouched.
        """
        room.exact = False
        for peer in list(room.peers.values()):
            self.close_peer(peer, CloseCode.INTERNAL_ERROR)
        if self.rooms.get(room.board_id) is room:
            self.repair.reload_now(room)

    def refuse_pending(self, room: Room) -> None:
        """
        Answer every op waiting in the room with `unavailable` (the database is away).
        """
        pending, room.pending = room.pending, []
        for peer, op in pending:
            peer.refuse_from(int(op["i"]))
            self.error(peer, ErrorCode.UNAVAILABLE, "the database is unavailable", [int(op["i"])])

    def close_stalled(self, now: float) -> None:
        """
        Close with 4008 every socket whose peer acknowledged nothing for SEND_STALL_SECS while
        data waited for it (SendQueue.stalled).
        """
        for room in list(self.rooms.values()):
            for peer in list(room.peers.values()):
                if peer.send_queue.stalled(now):
                    peer.send_queue.abort(CloseCode.TOO_SLOW)
                    self.overflowed(peer, "nothing acknowledged")

    def overflowed(self, peer: Peer, why: str = "send queue full") -> None:
        """
        Count and log a socket its send queue closed 4008 (too slow), and forget it.
        """
        metrics.SEND_QUEUE_DROPS.inc()
        logger.info(
            "closing slow socket %s on board %s (4008: %s)", peer.client_id, peer.board_id, why
        )
        asyncio.get_running_loop().call_soon(self.leave, peer)

    def error(
        self,
        peer: Peer,
        code: ErrorCode,
        message: str,
        ids: list[int] | None,
        field: str | None = None,
    ) -> None:
        """
        Queue an `error` frame and count the refused ops.
        """
        if ids:
            metrics.REJECTED_OPS.labels(str(code)).inc(len(ids))
        peer.send_queue.push(error_text(code, message, ids, field))

    # --- delivery ----------------------------------------------------------------------------

    def deliver(
        self,
        room: Room,
        deliveries: list[Delivery],
        confirms: Delivery | None = None,
        authors: Collection[str] = (),
    ) -> None:
        """
        Hand in-order frames to every local socket of the room; start gap handling if needed.

        `confirms`, one of `deliveries`, holds ops the room's opted-in sockets were sent as
        tentatives: to them it goes lazily (realtime.engine.sender), with their next frame,
        except to the `authors` (client ids) of its ops, whose acknowledgement it is.
        """
        peers = list(room.peers.values())
        for delivery in deliveries:
            confirming = delivery is confirms
            for peer in peers:
                lazy = confirming and bool(peer.tentative) and peer.client_id not in authors
                peer.send_live(delivery, lazy=lazy)
            metrics.OPS_OUT.inc((delivery.last - delivery.first + 1) * len(peers))
        if room.reorder:
            self.repair.gap_noticed(room)
