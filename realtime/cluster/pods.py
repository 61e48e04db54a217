"""
Between processes: the hub's channel-layer traffic and the presence of other hubs.

Each hub has ONE layer channel in group PODS_GROUP and publishes at most ONE `board.batch` per
tick: the ticks and cursors of the boards another hub holds (hubs say which boards they hold
with their presence, realtime.cluster.presence), plus changed presence. The layer may drop
(channels_redis capacity, expiry) or reorder; realtime.engine.repair mends what it loses from
the log, so correctness never depends on the layer.

A `board.batch` is {"type", "origin": hub id, "boards": {board: [first_seq, last_seq, frame]}}
plus, when they changed, "presence" (board: the hub's whole local list, replacing what it said
before), "rooms" (the boards of "presence" the hub holds a room for, so it gets their ticks) and
"cursors" (board: encoded cursor rows) and "claims" (board: the client ids its sockets joined
with, realtime.engine.takeover). `board.event`s come from realtime.cluster.fanout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import replace
from typing import Any

from realtime import metrics
from realtime.cluster.fanout import PODS_GROUP
from realtime.cluster.presence import PRESENCE_REFRESH_SECS, PresenceEntry
from realtime.engine import store
from realtime.engine.delivery import Delivery
from realtime.engine.ports import HubPort
from realtime.engine.repair import Repair
from realtime.engine.room import Peer, Room
from realtime.engine.roster import presence_frames
from realtime.engine.takeover import Claim, principal, rule_on_claim
from realtime.wire.protocol import BoardMeta, CloseCode, encode

logger = logging.getLogger(__name__)

#: A board's presence frames go out at most this often, however fast its clients change name
#: or colour: each change goes to every socket of the board.
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


class Pods:
    """
    The hub's link to the other processes.
    """

    group = PODS_GROUP

    def __init__(self, hub: HubPort, repair: Repair) -> None:
        self.hub = hub
        self.repair = repair
        #: Boards whose local presence other hubs are to hear with the next tick.
        self.announce: set[str] = set()
        self._last_refresh = 0.0
        self._logged: dict[str, float] = {}
        self._outgoing: deque[dict[str, Any]] = deque()
        self._publish_wake = asyncio.Event()
        self._presence_wake: asyncio.TimerHandle | None = None
        #: Client ids to claim with the next tick, per board, as (claim, when its socket joined):
        #: its age is taken when it is sent (realtime.engine.takeover).
        self.claims: dict[str, list[tuple[Claim, float]]] = {}

    # --- publishing ----------------------------------------------------------------------

    def claim(self, board_id: str, peer: Peer) -> None:
        """
        Tell the other hubs, with the next tick, that `peer` joined with its client id.
        """
        if self.hub.layer is None:
            return
        claim = Claim(peer.client_id, principal(peer), 0.0)
        self.claims.setdefault(board_id, []).append((claim, peer.joined_at))
        self.hub.work.set()

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
                    whole, delta = presence_frames(room)
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
        claims, self.claims = self.claims, {}
        if self.hub.layer is None:
            return
        rooms = self.hub.rooms
        shared = {b for b, room in rooms.items() if room.presence.held_elsewhere}
        boards = {b: v for b, v in boards.items() if b in shared}
        cursors = {b: v for b, v in cursors.items() if b in shared}
        if not (boards or presence or cursors or claims):
            return
        message: dict[str, Any] = {"type": "board.batch", "origin": self.hub.id, "boards": boards}
        if presence:
            message["presence"] = presence
            message["rooms"] = [board for board in presence if board in rooms]
        if cursors:
            message["cursors"] = cursors
        if claims:
            now = self.hub.clock()
            message["claims"] = {
                b: [replace(c, age=now - joined).to_wire() for c, joined in cs]
                for b, cs in claims.items()
            }
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
        for board, claims in message.get("claims", {}).items():
            room = hub.rooms.get(board)
            if room is not None:
                self._claimed(room, origin, [Claim.from_wire(row) for row in claims])

    def _claimed(self, room: Room, origin: str, claims: list[Claim]) -> None:
        """
        Another hub's sockets joined with these client ids: close ours they take over, answer
        for ours that hold an id against another principal (realtime.engine.takeover).
        """
        now = self.hub.clock()
        for claim in claims:
            for peer in [p for p in room.peers.values() if p.client_id == claim.client_id]:
                ruling = rule_on_claim(peer, claim, now=now, hub_id=self.hub.id, origin=origin)
                if ruling.close:
                    self.hub.close_peer(peer, CloseCode.CLIENT_REPLACED)
                elif ruling.answer is not None:
                    pending = self.claims.setdefault(room.board_id, [])
                    pending.append((ruling.answer, peer.joined_at))
                    self.hub.work.set()

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
            await self.repair.fill(room, room.delivered_seq, int(message["last"]))
        elif kind == "access":
            await self._recheck(room, message.get("user"))

    async def _recheck(self, room: Room, user_id: int | None) -> None:
        peers = [p for p in room.peers.values() if user_id is None or p.user_id == user_id]
        await self._recheck_peers(room, peers)

    async def recheck_expired_shares(self, now: float) -> None:
        """
        Check again the role of each socket whose share link expired since it was admitted (Unix
        time `now`): with no other role it is closed 4003, as when the link is revoked.
        """
        for room in list(self.hub.rooms.values()):
            due = [
                p
                for p in room.peers.values()
                if p.share_expires is not None and p.share_expires <= now
            ]
            for peer in due:
                peer.share_expires = None
            if due:
                await self._recheck_peers(room, due)

    async def _recheck_peers(self, room: Room, peers: list[Peer]) -> None:
        callers = [(p.user_id, p.share) for p in peers]
        roles = await self.hub.read(store.resolve_roles, room.board_id, callers)
        for peer, role in zip(peers, roles, strict=True):
            if role is None:
                self.hub.close_peer(peer, CloseCode.FORBIDDEN)
            elif role != peer.role:
                self.hub.close_peer(peer, CloseCode.ROLE_CHANGED)

    # --- upkeep ------------------------------------------------------------------------------

    def presence_upkeep(self, now: float) -> None:
        """
        Drop other hubs' presence that expired, and re-announce ours every PRESENCE_REFRESH_SECS.
        """
        for room in self.hub.rooms.values():
            if room.presence.expire(now):
                room.presence_dirty = True
                self.hub.work.set()
        if now - self._last_refresh >= PRESENCE_REFRESH_SECS:
            self._last_refresh = now
            self.announce.update(self.hub.rooms)
            self.hub.work.set()

    async def renew_group(self) -> None:
        """
        Re-join the pods group (see GROUP_RENEW_SECS).
        """
        if self.hub.channel is not None:
            await self.hub.layer.group_add(self.group, self.hub.channel)
