"""
The per-process board hub: one per event loop, owning every live board (Room) of the process.

Sockets hand their decoded frames to the hub (realtime.engine.inbound); the tick loop turns
everything that arrived within TICK_MS into ONE append_batches transaction for all boards (in the
hub's single writer thread, so the connection is reused and only one batch is ever in flight), acks
the authors, forwards each board's `ops` frame bytes as-is to its local sockets and publishes at
most ONE channel-layer message per tick for the whole process, carrying only boards another process
holds (realtime.cluster.pods). Database and Redis round trips therefore grow with ticks, not with
boards, points or recipients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.db import connections

from board.document import Limits
from board.exceptions import BoardNotFound
from realtime import metrics
from realtime.cluster.pods import Pods
from realtime.cluster.presence import PresenceEntry
from realtime.conf import hello_limits, realtime_settings
from realtime.engine import sender, store
from realtime.engine.catchup import SNAP_FRAMES, catch_up, catch_up_now
from realtime.engine.drain import PROCESS_DRAIN, Drain
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Delivery, Peer, Room
from realtime.engine.sender import SendQueue
from realtime.engine.ticker import Ticker
from realtime.wire.protocol import (
    CloseCode,
    ErrorCode,
    Hello,
    Presence,
    PresenceDelta,
    encode,
    error_text,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Reader threads: catch-ups, loads, gap fills, role checks and snapshots run beside the writer
#: so a big catch-up never delays a tick's commit; two so one slow snapshot cannot block a join.
READER_THREADS = 2
#: A room outlives its last socket this long: after a pod restart every client of a board
#: reconnects within seconds, and a warm room saves reloading the board for each wave.
ROOM_LINGER_SECS = 30.0
#: How long the first socket waits for the process to join the channel-layer group.
LAYER_JOIN_TIMEOUT_SECS = 2.0
#: How long to wait for the background tasks to finish after cancelling them.
TASK_STOP_TIMEOUT_SECS = 0.5
#: How long to wait for executor threads to close their database connections on shutdown.
POOL_CLOSE_TIMEOUT_SECS = 5.0

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


@dataclass(slots=True)
class Counts:
    """
    Per-frame counters kept as plain ints and flushed to Prometheus once per tick: a
    prometheus_client `inc()` takes a lock, about 15 % of the inbound cost per frame.
    """

    frames_in: int = 0
    ops_in: int = 0

    def flush(self) -> None:
        if self.frames_in:
            metrics.FRAMES_IN.inc(self.frames_in)
            metrics.OPS_IN.inc(self.ops_in)
            self.frames_in = self.ops_in = 0
        frames_out = sender.SENT.take()
        if frames_out:
            metrics.FRAMES_OUT.inc(frames_out)


class Hub:
    """
    Rooms, the tick, the database threads and the process's channel-layer channel.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, stopping: Drain | None = None
    ) -> None:
        #: The one clock of the hub and its rooms and sockets (rate limits, stalls, gaps,
        #: presence, snapshots, lingering rooms): the event loop's, unless a test gives another.
        self.clock = clock
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
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="inkroom-db-write")
        self._reader = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="inkroom-db-read")
        self._tasks: list[asyncio.Task[None]] = []
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._catchups: dict[int, asyncio.Task[None]] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        self._start_lock = asyncio.Lock()
        self.tick_lock = asyncio.Lock()
        self._started = False
        self.pods = Pods(self)
        self.ticker = Ticker(self)

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
                loop.create_task(self.pods.housekeeping(), name="inkroom-housekeeping"),
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
        jobs = [*self._loads.values(), *self._catchups.values(), *self._jobs]
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
        await asyncio.gather(
            _close_pool(self._writer, 1), _close_pool(self._reader, READER_THREADS)
        )
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
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """
        Run `fn` in a reader thread (catch-ups, loads, gap fills, role checks, snapshots).
        """
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, store.released, fn, *args
        )

    # --- sockets -----------------------------------------------------------------------------

    async def join(self, info: dict[str, Any], send: Callable[..., Any], since: int) -> Peer:
        """
        Register an accepted socket, send `hello` and start its catch-up.
        """
        if not self._started or self._start_lock.locked():
            await self.start()
        board_id = info["board"]["id"]
        room = self.rooms.get(board_id)
        if room is None:
            room = self.rooms[board_id] = Room(board_id)
            self._loads[board_id] = asyncio.get_running_loop().create_task(self._load(room))
            # Other hubs send this board's ticks only to hubs that announced it: say so now, so
            # they do before the load reads the head.
            self.pods.announce.add(board_id)
            self.work.set()
        peer = self._new_peer(info, send)
        room.peers[peer.id] = peer
        room.empty_since = None
        if len(room.peers) == 1:
            # Counting walks every room: only when this one stops being empty, not per socket.
            self.count_rooms()
        metrics.CONNECTIONS.inc()
        load = self._loads.get(board_id)
        if load is not None:
            await asyncio.shield(load)
        if self.draining:  # the drain began while the board was loading
            self.close_peer(peer, CloseCode.SERVICE_RESTART)
            return peer
        if not room.ready:
            self.close_peer(peer, CloseCode.NOT_FOUND)
            return peer
        # The presence list goes in as JSON kept by the room: merging and encoding the whole
        # list per join made a wave of joins to a big board cost O(n^2).
        hello = Hello(
            v=peer.version,
            client_id=peer.client_id,
            role=peer.role,
            user={"id": peer.user_id, "name": peer.user_name},
            board=info["board"],
            head_seq=room.delivered_seq,
            limits=hello_limits(),
            presence=[],
        )
        text = str(encode(hello))
        peer.send_queue.push(text[: -len("[]}")] + room.hello_presence(peer) + "}")
        room.presence_dirty = True
        self.pods.announce.add(board_id)
        self.work.set()
        if catch_up_now(room, peer, since):
            metrics.RESYNCS.inc()
        else:
            self.start_catch_up(room, peer, since)
        return peer

    def _new_peer(self, info: dict[str, Any], send: Callable[..., Any]) -> Peer:
        conf = realtime_settings()
        queue = SendQueue(
            send,
            clock=self.clock,
            max_frames=conf.send_queue_frames,
            max_bytes=conf.send_queue_bytes,
        )
        peer = Peer(
            board_id=info["board"]["id"],
            client_id=info["client_id"],
            user_id=info["user_id"],
            user_name=info["user_name"],
            role=info["role"],
            share=info["share"],
            send_queue=queue,
            limiter=RateLimiter.from_settings(),
            version=info.get("version", 1),
            presence_delta=bool(info.get("presence_delta", False)),
            credential=info.get("credential", ""),
        )
        queue.on_overflow = lambda: self._overflowed(peer)
        return peer

    def start_catch_up(self, room: Room, peer: Peer, since: int) -> None:
        """
        (Re)start the peer's catch-up from `since`; a running one is superseded.
        """
        metrics.RESYNCS.inc()
        task = self._catchups.get(peer.id)
        if task is not None:
            task.cancel()
        new = asyncio.get_running_loop().create_task(catch_up(room, peer, since, self.read))
        self._catchups[peer.id] = new
        new.add_done_callback(
            lambda t: (
                self._catchups.pop(peer.id, None) if self._catchups.get(peer.id) is t else None
            )
        )

    async def _load(self, room: Room) -> None:
        code = CloseCode.NOT_FOUND
        try:
            loaded = await self.read(store.load_board, room.board_id)
            state, snap_seq = loaded.state, loaded.snapshot_seq
            if loaded.snap is not None:  # the first catch-up forwards it, no re-encoding
                SNAP_FRAMES.put(room.board_id, *loaded.snap)
        except BoardNotFound:
            state = None
        except Exception:
            # Not the client's fault and probably transient (database down): 1011 tells it to
            # come back later, where 4004 would make it give up on the board.
            logger.exception("loading board %s failed", room.board_id)
            state, code = None, CloseCode.INTERNAL_ERROR
        finally:
            self._loads.pop(room.board_id, None)
        if state is None:
            self.drop_room(room, code)
            return
        now = self.clock()
        self.deliver(room, room.load(state, snap_seq, now))
        if state.is_deferred:
            # Decoding a big board takes ~100 ms: do it in a reader thread now, while the first
            # client is still drawing its snap, not on the loop when its first op arrives.
            self.spawn(self.read(state.materialize), f"inkroom-build-{room.board_id}")

    def leave(self, peer: Peer) -> None:
        """
        Forget a socket (idempotent); the room goes when its last socket and ops are gone.
        """
        room = self.rooms.get(peer.board_id)
        if room is None or room.peers.pop(peer.id, None) is None:
            return
        metrics.CONNECTIONS.dec()
        task = self._catchups.pop(peer.id, None)
        if task is not None:
            task.cancel()
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
            self.pods.reload_now(room)

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
                    self._overflowed(peer, "nothing acknowledged")

    def _overflowed(self, peer: Peer, why: str = "send queue full") -> None:
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

    def deliver(self, room: Room, deliveries: list[Delivery]) -> None:
        """
        Hand in-order frames to every local socket of the room; start gap handling if needed.
        """
        peers = list(room.peers.values())
        for delivery in deliveries:
            room.encode_compact(delivery)
            for peer in peers:
                peer.send_live(delivery)
            metrics.OPS_OUT.inc((delivery.last - delivery.first + 1) * len(peers))
        if room.reorder:
            self.pods.gap_noticed(room)

    def presence_frame(self, room: Room, merged: list[PresenceEntry] | None = None) -> str:
        """
        The room's whole `presence` list as a frame (`merged`: the list, when already merged).
        """
        if merged is None:
            merged = room.presence.merged(room.local_presence())
        text: str = encode(Presence(clients=[dict(e) for e in merged]))  # type: ignore[assignment]
        return text

    def presence_frames(self, room: Room) -> tuple[str | None, str | None]:
        """
        The room's presence as a whole list and as a delta from the last one sent, each only
        when one of its sockets takes that form; remembers the list as sent.

        A whole list per change to every socket made presence grow with the square of the room
        (and a flood of name changes cost thousands of times its input); a delta is the change.
        """
        merged = room.presence.merged(room.local_presence())
        now = {e["client_id"]: e for e in merged}
        last, room.presence_last = room.presence_last, now
        peers = room.peers.values()
        whole: str | None = None
        delta: str | None = None
        if any(not p.presence_delta for p in peers):
            whole = self.presence_frame(room, merged)
        if any(p.presence_delta for p in peers):
            changed = [dict(e) for cid, e in now.items() if last.get(cid) != e]
            gone = [cid for cid in last if cid not in now]
            if changed or gone:
                delta = str(encode(PresenceDelta(set=changed, gone=gone)))
        return whole, delta


async def _close_pool(pool: ThreadPoolExecutor, threads: int) -> None:
    """
    Close the database connection of every thread of `pool`, then shut it down.
    """
    barrier = threading.Barrier(threads)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(POOL_CLOSE_TIMEOUT_SECS)
        connections.close_all()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(Exception):
        await asyncio.gather(*(loop.run_in_executor(pool, close) for _ in range(threads)))
    pool.shutdown(wait=False)
