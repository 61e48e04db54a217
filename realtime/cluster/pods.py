"""
Between processes: the hub's channel-layer traffic, gap repair and background upkeep.

Each hub has ONE layer channel in group PODS_GROUP and publishes at most ONE `board.batch` per
tick: the ticks and cursors of the boards another hub holds (hubs say which boards they hold
with their presence, realtime.cluster.presence), plus changed presence. The layer may drop
(channels_redis capacity, expiry) or reorder: rooms deliver in seq order, a gap waits
GAP_WAIT_MS and is then read from the log, and every HEAD_CHECK_SECS one query compares each
live board's head with what the room delivered, which also catches a lost *last* batch (nothing
after it would reveal the gap). Correctness never depends on the layer.

A `board.batch` is {"type", "origin": hub id, "boards": {board: [first_seq, last_seq, frame]}}
plus, when they changed, "presence" (board: the hub's whole local list, replacing what it said
before), "rooms" (the boards of "presence" the hub holds a room for, so it gets their ticks) and
"cursors" (board: encoded cursor rows). `board.event`s come from realtime.cluster.fanout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from board.snapshots import encode_snapshot, should_snapshot
from realtime import metrics
from realtime.cluster.fanout import PODS_GROUP
from realtime.cluster.presence import PRESENCE_REFRESH_SECS, PresenceEntry
from realtime.conf import realtime_settings
from realtime.engine import store
from realtime.engine.room import REORDER_MAX_FRAMES, Delivery, Room
from realtime.wire.protocol import BoardMeta, CloseCode, encode, ops_frame_from_entries

if TYPE_CHECKING:
    from realtime.engine.hub import Hub

logger = logging.getLogger(__name__)

#: How often live boards' heads are compared with what was delivered (one query for all).
HEAD_CHECK_SECS = 2.0
#: Upkeep cadence: presence expiry, inexact-state reloads, head checks.
HOUSEKEEPING_SECS = 1.0
#: Minimum time between two reloads of one room's state (they cost a full board read).
REFRESH_MIN_SECS = 5.0
#: A board's `presence` frame goes out at most this often: each change re-sends the whole
#: list to every socket, so one client changing its name 50 times a second on a 100-socket
#: board made the server send ~11,000 times what it received.
PRESENCE_MIN_SECS = 0.25
#: Back-off after the layer failed to deliver (Redis restarting).
LAYER_RETRY_SECS = 1.0
#: A failing layer operation is logged with its traceback at most this often per kind.
LAYER_LOG_EVERY_SECS = 30.0
#: Tick messages waiting for the layer before the oldest is dropped (~1 s of ticks).
PUBLISH_BACKLOG = 50
#: Re-join the pods group this often, so CHANNEL_LAYERS can set a short `group_expiry` (e.g.
#: 60 s): a killed pod then leaves the group within a minute instead of a day (channels_redis
#: default), and ticks stop being copied into its dead channel.
GROUP_RENEW_SECS = 15.0
#: An automatic snapshot of a board this small is encoded from its live state, on the event loop
#: (about 3 µs per 120-point stroke: ~1.5 ms at the bound); a bigger board is materialised from
#: the log in a reader thread instead: the previous snapshot decoded and up to
#: SNAPSHOT_EVERY_OPS ops replayed, each holding the GIL (~6 % of a process drawing on 100
#: boards went there).
LIVE_SNAPSHOT_MAX_POINTS = 100_000
LIVE_SNAPSHOT_MAX_ELEMENTS = 1000


def live_snapshot(room: Room) -> tuple[int, bytes, int] | None:
    """
    (seq, encoded snapshot, element count) of the room's live state, or None when the state is
    not exactly the board at a seq, not built yet, or too big to encode on the event loop.
    """
    state = room.state
    if state is None or state.is_deferred or not room.snapshot_current():
        return None
    if state.seq != room.delivered_seq or state.element_count > LIVE_SNAPSHOT_MAX_ELEMENTS:
        return None
    if state.total_points > LIVE_SNAPSHOT_MAX_POINTS:
        return None
    return state.seq, encode_snapshot(state), state.element_count


class Pods:
    """
    The hub's link to the other processes.
    """

    group = PODS_GROUP

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.announce: set[str] = set()
        self._gap_tasks: dict[str, asyncio.Task[None]] = {}
        self._refreshed: dict[str, float] = {}
        self._snapshotting: set[str] = set()
        self._last_refresh = 0.0
        self._logged: dict[str, float] = {}
        self._outgoing: deque[dict[str, Any]] = deque()
        self._publish_wake = asyncio.Event()
        self._presence_wake: asyncio.TimerHandle | None = None

    # --- publishing ----------------------------------------------------------------------

    def presence_changes(self) -> dict[str, list[PresenceEntry]]:
        """
        Push `presence` frames to rooms whose list changed; return local lists to announce.
        """
        hub = self.hub
        now = self.hub.clock()
        throttled: set[str] = set()
        for room in list(hub.rooms.values()):
            if room.presence_dirty and room.ready:
                wait = room.presence_sent + PRESENCE_MIN_SECS - now
                if wait > 0:
                    throttled.add(room.board_id)
                    self._wake_in(wait)
                    continue
                room.presence_dirty, room.presence_sent = False, now
                try:
                    whole, delta = hub.presence_frames(room)
                except Exception:
                    logger.exception("board %s: the presence frame failed", room.board_id)
                    hub.fail_room(room)
                    continue
                for peer in room.peers.values():
                    frame = delta if peer.presence_delta else whole
                    if frame is not None:
                        peer.send_queue.push(frame)
        out: dict[str, list[PresenceEntry]] = {}
        for board in self.announce - throttled:
            live = hub.rooms.get(board)
            out[board] = live.local_presence() if live is not None else []
        self.announce &= throttled
        return out

    def _wake_in(self, delay: float) -> None:
        """
        Run a tick in `delay` seconds (a throttled presence change is still owed).
        """
        if self._presence_wake is None:
            loop = asyncio.get_running_loop()
            self._presence_wake = loop.call_later(delay, self._presence_due)

    def _presence_due(self) -> None:
        self._presence_wake = None
        self.hub.work.set()

    def publish(
        self,
        boards: dict[str, list[Any]],
        presence: dict[str, list[PresenceEntry]],
        cursors: dict[str, list[list[Any]]],
    ) -> None:
        """
        Queue this tick's one message to every hub (nothing when there is nothing to say).

        Boards' ticks and cursors go only when another hub holds the board (it announced it in
        `rooms`); presence always goes, as it is how hubs learn who holds what.

        Sent by the publisher task, so the next tick's commit overlaps this tick's Redis round
        trip. A backlog beyond PUBLISH_BACKLOG messages drops the oldest: the layer may lose
        messages anyway, and other hubs repair gaps from the log.
        """
        if self.hub.layer is None:
            return
        rooms = self.hub.rooms
        shared = {b for b, room in rooms.items() if room.presence.held_elsewhere}
        boards = {b: v for b, v in boards.items() if b in shared}
        cursors = {b: v for b, v in cursors.items() if b in shared}
        if not (boards or presence or cursors):
            return
        message: dict[str, Any] = {"type": "board.batch", "origin": self.hub.id, "boards": boards}
        if presence:
            message["presence"] = presence
            message["rooms"] = [board for board in presence if board in rooms]
        if cursors:
            message["cursors"] = cursors
        if len(self._outgoing) >= PUBLISH_BACKLOG:
            self._outgoing.popleft()
            metrics.LAYER_DROPS.inc()
        self._outgoing.append(message)
        self._publish_wake.set()

    async def publisher(self) -> None:
        """
        Send queued tick messages in order, one at a time.
        """
        layer = self.hub.layer
        assert layer is not None
        while True:
            await self._publish_wake.wait()
            self._publish_wake.clear()
            while self._outgoing:
                message = self._outgoing.popleft()
                started = time.perf_counter()
                try:
                    await layer.group_send(self.group, message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    metrics.LAYER_DROPS.inc()
                    self._failed(
                        "publish", "publishing a tick of %s boards failed", len(message["boards"])
                    )
                    continue
                metrics.LAYER_LATENCY.observe(time.perf_counter() - started)
                metrics.LAYER_MESSAGES_OUT.inc()

    def _failed(self, key: str, message: str, *args: Any) -> None:
        """
        Log a layer failure with its traceback at most every LAYER_LOG_EVERY_SECS per kind: with
        Redis down, a failure per tick would flood the logs.
        """
        now = self.hub.clock()
        if now - self._logged.get(key, -LAYER_LOG_EVERY_SECS) >= LAYER_LOG_EVERY_SECS:
            self._logged[key] = now
            logger.exception(message, *args)
        else:
            logger.debug(message, *args, exc_info=True)

    # --- receiving -------------------------------------------------------------------------

    async def _join_group(self) -> str:
        """
        Create this hub's channel and join the pods group, retrying until the layer answers.
        """
        while self.hub.channel is None:
            if not await self.try_join_group(None):
                await asyncio.sleep(LAYER_RETRY_SECS)
        return self.hub.channel

    async def try_join_group(self, timeout: float | None) -> bool:
        """
        Join the pods group now if the layer answers (within `timeout` seconds, if given).
        """
        layer = self.hub.layer
        assert layer is not None
        try:
            channel: str = await asyncio.wait_for(layer.new_channel(), timeout)
            await asyncio.wait_for(layer.group_add(self.group, channel), timeout)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failed("join", "joining the channel-layer group failed; retrying")
            return False
        self.hub.channel = channel
        return True

    async def receive(self) -> None:
        hub = self.hub
        assert hub.layer is not None
        channel = hub.channel or await self._join_group()
        while True:
            try:
                message = await hub.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failed("receive", "channel layer receive failed; retrying")
                await asyncio.sleep(LAYER_RETRY_SECS)
                continue
            metrics.LAYER_MESSAGES_IN.inc()
            try:
                self.handle(message)
            except Exception:
                logger.exception("bad layer message %r", message.get("type"))

    def handle(self, message: dict[str, Any]) -> None:
        """
        Apply one layer message (`board.batch` from another hub or `board.event`).
        """
        kind = message.get("type")
        if kind == "board.batch":
            if message.get("origin") != self.hub.id:
                self._batch(message)
        elif kind == "board.event":
            self.hub.spawn(self._event(message), "inkroom-event")

    def _batch(self, message: dict[str, Any]) -> None:
        hub, now = self.hub, self.hub.clock()
        for board, (first, last, frame) in message.get("boards", {}).items():
            room = hub.rooms.get(board)
            if room is None:
                continue
            try:
                hub.deliver(room, room.offer(Delivery(int(first), int(last), bytes(frame))))
            except Exception:
                logger.exception("board %s: a batch from %s failed", board, message["origin"])
                hub.fail_room(room)
        origin, presence = message["origin"], message.get("presence", {})
        held = set(message.get("rooms", ()))
        for board, entries in presence.items():
            room = hub.rooms.get(board)
            if room is None:
                continue
            if room.presence.hold(origin, board in held, now):
                # The newcomer learns that this hub holds the board too (so sends it its ticks)
                # and who is here, at the next tick rather than the next refresh.
                self.announce.add(board)
                hub.work.set()
            if room.presence.update(origin, entries, now):
                room.presence_dirty = True
                hub.work.set()
        for board, rows in message.get("cursors", {}).items():
            room = hub.rooms.get(board)
            if room is not None:
                room.send_cursors(rows)

    async def _event(self, message: dict[str, Any]) -> None:
        hub = self.hub
        if message.get("kind") == "user_gone":
            hub.close_user(message.get("user"))
            return
        if message.get("kind") == "credential_gone":
            credential = str(message.get("credential") or "")
            if credential:  # "" would name every socket of the user
                hub.close_user(message.get("user"), credential)
            return
        room = hub.rooms.get(str(message.get("board")))
        if room is None:
            return
        kind = message.get("kind")
        if kind == "deleted":
            hub.drop_room(room, CloseCode.NOT_FOUND)
        elif kind == "meta":
            text = encode(BoardMeta(title=message["title"], link_access=message["link_access"]))
            for peer in room.peers.values():
                peer.send_queue.push(text)
        elif kind == "ops":
            await self.fill(room, room.delivered_seq, int(message["last"]))
        elif kind == "access":
            await self._recheck(room, message.get("user"))

    async def _recheck(self, room: Room, user_id: int | None) -> None:
        peers = [p for p in room.peers.values() if user_id is None or p.user_id == user_id]
        callers = [(p.user_id, p.share) for p in peers]
        roles = await self.hub.read(store.resolve_roles, room.board_id, callers)
        for peer, role in zip(peers, roles, strict=True):
            if role is None:
                self.hub.close_peer(peer, CloseCode.FORBIDDEN)
            elif role != peer.role:
                self.hub.close_peer(peer, CloseCode.ROLE_CHANGED)

    # --- gaps --------------------------------------------------------------------------------

    def gap_noticed(self, room: Room) -> None:
        """
        Frames wait ahead of a gap: read it from the log after GAP_WAIT_MS (now if too many).
        """
        if room.board_id in self._gap_tasks:
            return
        if room.gap_since is None:
            room.gap_since = self.hub.clock()
            metrics.GAPS_DETECTED.inc()
        urgent = len(room.reorder) > REORDER_MAX_FRAMES
        wait = 0.0 if urgent else realtime_settings().gap_wait_ms / 1000
        task = self.hub.spawn(self._fill_gap(room, wait), "inkroom-gap")
        self._gap_tasks[room.board_id] = task
        task.add_done_callback(lambda _t: self._gap_tasks.pop(room.board_id, None))

    async def _fill_gap(self, room: Room, wait: float) -> None:
        await asyncio.sleep(wait)
        gap = room.gap_range()
        if gap is not None:
            metrics.LAYER_DROPS.inc()
            await self.fill(room, *gap)

    async def fill(self, room: Room, after: int, upto: int) -> None:
        """
        Read seqs after..upto from the log and deliver them in order.
        """
        if upto <= after:
            return
        try:
            rows = await self.hub.read(store.read_range, room.board_id, after, upto)
        except Exception:
            logger.exception("reading ops %s..%s of board %s failed", after, upto, room.board_id)
            return
        if rows and self.hub.rooms.get(room.board_id) is room:
            entries = [entry for _, entry in rows]
            frame = ops_frame_from_entries(entries)
            delivery = Delivery(rows[0][0], rows[-1][0], frame, entries)
            self.hub.deliver(room, room.offer(delivery))

    # --- upkeep ------------------------------------------------------------------------------

    async def housekeeping(self) -> None:
        clock = self.hub.clock
        last_heads = last_group = clock()
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECS)
            now = clock()
            try:
                self.hub.counts.flush()  # frames that arrived without causing a tick
                self._presence_upkeep(now)
                self.hub.close_stalled(now)
                self.hub.forget_idle_rooms(now)
                if now - last_heads >= HEAD_CHECK_SECS:
                    last_heads = now
                    await self._check_heads()
                self._refresh_inexact(now)
                if now - last_group >= GROUP_RENEW_SECS and self.hub.channel is not None:
                    last_group = now
                    await self.hub.layer.group_add(self.group, self.hub.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub housekeeping failed; carrying on")

    def _presence_upkeep(self, now: float) -> None:
        for room in self.hub.rooms.values():
            if room.presence.expire(now):
                room.presence_dirty = True
                self.hub.work.set()
        if now - self._last_refresh >= PRESENCE_REFRESH_SECS:
            self._last_refresh = now
            self.announce.update(self.hub.rooms)
            self.hub.work.set()

    async def _check_heads(self) -> None:
        rooms = [r for r in self.hub.rooms.values() if r.ready]
        if not rooms:
            return
        heads = await self.hub.read(store.heads, [r.board_id for r in rooms])
        for room in rooms:
            head = heads.get(room.board_id, -1)
            if head < 0:
                self.hub.drop_room(room, CloseCode.NOT_FOUND)
            elif (
                head > room.delivered_seq
                and head == room.head_seen
                and room.board_id not in self._gap_tasks
            ):
                metrics.GAPS_DETECTED.inc()
                await self.fill(room, room.delivered_seq, head)
            room.head_seen = head

    def _refresh_inexact(self, now: float) -> None:
        for room in list(self.hub.rooms.values()):
            due = now - self._refreshed.get(room.board_id, 0.0) >= REFRESH_MIN_SECS
            if room.ready and not room.exact and not room.busy and not room.spec_ops and due:
                self._refreshed[room.board_id] = now
                self.hub.spawn(self._refresh(room), "inkroom-refresh")

    async def _reload(self, room: Room) -> None:
        """
        Replace the room's state with the log's, plus what is delivered while it is read;
        raises what the read raises.
        """
        room.begin_reload()
        try:
            state, _snap = await self.hub.read(store.load_state, room.board_id)
        except BaseException:
            room.abort_reload()
            raise
        room.finish_reload(state)

    async def _refresh(self, room: Room) -> None:
        room.busy = True
        try:
            await self._reload(room)
        except Exception:
            logger.exception("reloading board %s failed", room.board_id)
        finally:
            room.busy = False
            self.hub.work.set()

    def reload_now(self, room: Room) -> None:
        """
        Reload the state before checking anything else, retrying while the database is away and
        answering what waits meanwhile with `unavailable`: after a failed commit (the state
        holds ops the log does not, and resends would be refused as "already exists"), or after
        a refusal the state could not vouch for (it lacked ops the log had).
        """
        if not room.busy:
            room.busy = True
            self.hub.spawn(self._reload_until_done(room), "inkroom-reload")

    async def _reload_until_done(self, room: Room) -> None:
        while self.hub.rooms.get(room.board_id) is room:
            try:
                await self._reload(room)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("board %s: reloading its state failed; retrying", room.board_id)
                self.hub.refuse_pending(room)
                await asyncio.sleep(LAYER_RETRY_SECS)
                continue
            break
        room.busy = False
        self.hub.work.set()

    def maybe_snapshot(self) -> None:
        """
        Start an automatic snapshot (stored or materialised in a reader thread), one at a time
        for the whole process.

        One at a time: with 50 busy boards one per tick queued ~10 snapshots/s into the two
        reader threads, ahead of catch-ups and gap fills, and each replays up to
        SNAPSHOT_EVERY_OPS ops while holding the GIL against the event loop and the writer.
        """
        if self._snapshotting:
            return
        now = self.hub.clock()
        for room in self.hub.rooms.values():
            if room.board_id in self._snapshotting or not room.ready:
                continue
            if should_snapshot(room.applied_seq - room.snapshot_seq, now - room.snapshot_at):
                # Encoded now, between ticks: once the task runs, the next tick may have
                # applied its ops to the state before their commit, and it is no longer exact.
                live = live_snapshot(room)
                self._snapshotting.add(room.board_id)
                self.hub.spawn(self._snapshot(room, live), "inkroom-snapshot")
                return

    async def _snapshot(self, room: Room, live: tuple[int, bytes, int] | None) -> None:
        try:
            if live is not None:
                seq = await self.hub.read(store.store_live_snapshot, room.board_id, *live)
            else:
                seq = await self.hub.read(store.take_snapshot, room.board_id)
            if seq >= 0:
                room.snapshot_seq = seq
                room.snapshot_at = self.hub.clock()
        except Exception:
            logger.exception("automatic snapshot of board %s failed", room.board_id)
        finally:
            self._snapshotting.discard(room.board_id)
