"""
Sockets joining a room: the room loaded on first use, `hello`, and each socket's catch-up.

A room is created by its first socket and loaded in a reader thread while later sockets wait
for the same load. Each socket then gets `hello` (with the presence list the room keeps as JSON,
so a wave of joins costs each join its own entry, not the whole list again) and is brought from
`since` to live: at once when the room's recent entries cover it (realtime.engine.catchup),
otherwise by a catch-up task that reads the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from board.exceptions import BoardNotFound
from realtime import metrics
from realtime.cluster.pods import Pods
from realtime.conf import hello_limits, realtime_settings
from realtime.engine import store, takeover
from realtime.engine.catchup import SNAP_FRAMES, catch_up, catch_up_now
from realtime.engine.ports import HubPort
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.room import Peer, Room, new_codec
from realtime.engine.sender import SendQueue
from realtime.wire.protocol import CloseCode, Hello, encode

logger = logging.getLogger(__name__)


class Joins:
    """
    The loads and catch-ups in flight for one hub's sockets.
    """

    def __init__(self, hub: HubPort, pods: Pods) -> None:
        self.hub = hub
        self.pods = pods
        self.loads: dict[str, asyncio.Task[None]] = {}
        self.catchups: dict[int, asyncio.Task[None]] = {}

    async def join(self, info: dict[str, Any], send: Callable[..., Any], since: int) -> Peer:
        """
        Register an accepted socket, send `hello` and start its catch-up.
        """
        hub = self.hub
        board_id = info["board"]["id"]
        room = hub.rooms.get(board_id)
        if room is None:
            room = hub.rooms[board_id] = Room(board_id)
            self.loads[board_id] = asyncio.get_running_loop().create_task(self._load(room))
            # Other hubs send this board's ticks only to hubs that announced it: say so now, so
            # they do before the load reads the head.
            self.pods.announce.add(board_id)
            hub.work.set()
        peer = self.new_peer(info, send, room)
        replaced, refused = takeover.local_rivals(room, peer)
        for old in replaced:
            hub.close_peer(old, CloseCode.CLIENT_REPLACED)
        if refused:
            peer.send_queue.close(CloseCode.CLIENT_REPLACED)
            return peer
        room.peers[peer.id] = peer
        self.pods.claim(board_id, peer)
        room.empty_since = None
        if len(room.peers) == 1:
            # Counting walks every room: only when this one stops being empty, not per socket.
            hub.count_rooms()
        metrics.CONNECTIONS.inc()
        load = self.loads.get(board_id)
        if load is not None:
            # The consumer holds the 101 back for hello: not for as long as a board's load.
            peer.send_queue.uncork()
            await asyncio.shield(load)
        if hub.draining:  # the drain began while the board was loading
            hub.close_peer(peer, CloseCode.SERVICE_RESTART)
            return peer
        if not room.ready:
            hub.close_peer(peer, CloseCode.NOT_FOUND)
            return peer
        hello = Hello(
            v=peer.codec.version,
            client_id=peer.client_id,
            role=peer.role,
            user={"id": peer.user_id, "name": peer.user_name},
            board=info["board"],
            head_seq=room.delivered_seq,
            limits=hello_limits(),
            presence=[],
        )
        text = str(encode(hello))
        # hello and, when the room has it in memory, the catch-up and synced: one socket write.
        with peer.send_queue.corked():
            peer.send_queue.push(text[: -len("[]}")] + room.hello_presence(peer) + "}")
            caught_up = catch_up_now(room, peer, since)
        room.presence_dirty = True
        self.pods.announce.add(board_id)
        hub.work.set()
        if caught_up:
            metrics.RESYNCS.inc()
        else:
            self.start_catch_up(room, peer, since)
        return peer

    def new_peer(self, info: dict[str, Any], send: Callable[..., Any], room: Room) -> Peer:
        """
        The peer of an admitted socket (scope["inkroom"] `info`) joining `room`, with its send
        queue and the codec of its protocol version.
        """
        conf = realtime_settings()
        version = info.get("version", 1)
        # `tentative=2` asks for compact frames, which only v2 speaks: a v1 socket gets `tent`.
        tentative = min(int(info.get("tentative", 0)), 2 if version >= 2 else 1)
        queue = SendQueue(
            send,
            clock=self.hub.clock,
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
            codec=new_codec(
                version,
                room.tent_handles if tentative == 2 else room.handles,
                tentative=tentative == 2,
            ),
            presence_delta=bool(info.get("presence_delta", False)),
            tentative=tentative,
            credential=info.get("credential", ""),
            share_expires=info.get("share_expires"),
            joined_at=self.hub.clock(),
        )
        queue.on_overflow = lambda: self.hub.overflowed(peer)
        return peer

    def start_catch_up(self, room: Room, peer: Peer, since: int) -> None:
        """
        (Re)start the peer's catch-up from `since`; a running one is superseded.
        """
        metrics.RESYNCS.inc()
        task = self.catchups.get(peer.id)
        if task is not None:
            task.cancel()
        new = asyncio.get_running_loop().create_task(catch_up(room, peer, since, self.hub.read))
        self.catchups[peer.id] = new
        new.add_done_callback(
            lambda t: self.catchups.pop(peer.id, None) if self.catchups.get(peer.id) is t else None
        )

    def left(self, peer: Peer) -> None:
        """
        The peer left: its catch-up, if one runs, is of no use any more.
        """
        task = self.catchups.pop(peer.id, None)
        if task is not None:
            task.cancel()

    def tasks(self) -> list[asyncio.Task[None]]:
        """
        The loads and catch-ups still running (close() cancels them).
        """
        return [*self.loads.values(), *self.catchups.values()]

    async def _load(self, room: Room) -> None:
        hub = self.hub
        code = CloseCode.NOT_FOUND
        try:
            loaded = await hub.read(store.load_board, room.board_id)
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
            self.loads.pop(room.board_id, None)
        if state is None:
            hub.drop_room(room, code)
            return
        now = hub.clock()
        hub.deliver(room, room.load(state, snap_seq, now))
        if state.is_deferred:
            # Decoding a big board takes long: do it in a reader thread now, while the first
            # client is still drawing its snap, not on the loop when its first op arrives.
            hub.spawn(hub.read(state.materialize), f"inkroom-build-{room.board_id}")
