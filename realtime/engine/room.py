"""
A live board in one process: its local sockets (peers), its state and in-order delivery.

A Room hands every `ops` frame to its peers strictly in `seq` order, whether the frame comes from
this hub's own commit, another hub's batch or a read from the log: frames ahead of
`delivered_seq` wait in the reorder buffer until the gap is filled (the hub fills it from the log
after GAP_WAIT_MS), frames at or below it are dropped as duplicates. Peers still catching up hold
live frames back (Peer.held) so the switch from catch-up to live has no gap and no duplicate.
The room also keeps the entries it delivered last (Room.recent), so that a socket a little
behind catches up from memory (realtime.engine.catchup).

The room's BoardState validates incoming ops. The tick applies accepted ops to it before they are
committed (the document model requires each op of a batch to see the previous ones), so the state
is exact only while what was applied equals the log prefix 1..applied_seq; when it is not (a
duplicate resend, a failed commit, another process's ops interleaved) `exact` turns False and the
hub reloads it from the log. An inexact state only affects validation, which the total reducer
makes safe; snapshots for catch-up are then read from the database instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import msgpack

from board.conf import board_settings
from board.document import BoardState, apply_in_place
from realtime.cluster.presence import PresenceBook, PresenceEntry
from realtime.conf import realtime_settings
from realtime.engine.delivery import Delivery, RecentEntries
from realtime.engine.ratelimit import RateLimiter
from realtime.engine.sender import SendQueue
from realtime.wire.codec import Codec, FrameLimits
from realtime.wire.frames import ops_frame_from_entries, split_ops_frame
from realtime.wire.handles import HandleTable
from realtime.wire.protocol import Cursors, Presence, encode
from realtime.wire.tentative import TentBatch
from realtime.wire.v1 import V1Codec
from realtime.wire.v2 import V2Codec

#: Cursors are the first thing dropped under load: a socket whose queue is this full gets none.
CURSOR_SKIP_LOAD = 0.5
#: Frames held ahead of a gap before the hub stops waiting and reads the range from the log.
REORDER_MAX_FRAMES = 64

_peer_ids = itertools.count(1)


def new_codec(version: int, handles: HandleTable, *, tentative: bool = False) -> Codec:
    """
    The codec of a socket that asked for protocol `version` (admission takes only supported
    ones), bound by the limits its `hello` announces; v2 sockets share their room's `handles`
    (its tentative table for a `tentative=2` socket, whose deliveries may then be promoted).
    """
    conf = realtime_settings()
    limits = FrameLimits(
        max_frame_bytes=conf.max_frame_bytes,
        max_ops_per_frame=conf.max_ops_per_frame,
        max_points_per_op=board_settings().max_points_per_op,
    )
    return V2Codec(handles, limits, tentative=tentative) if version >= 2 else V1Codec(limits)


def _items_json(entries: list[dict[str, Any]]) -> str:
    """
    Presence entries as the items of a JSON array (no brackets), as the wire codec writes them.
    """
    text = str(encode(Presence(clients=entries)))
    return text[text.index("[") + 1 : -2]


@dataclass(eq=False, slots=True)
class Peer:
    """
    One local socket on a board.
    """

    board_id: str
    client_id: str
    user_id: int | None
    user_name: str
    role: str
    share: str | None
    send_queue: SendQueue
    limiter: RateLimiter
    name: str = ""
    color: str = "#1e1e1e"
    #: While True, live frames go to `held` instead of the send queue (catch-up in progress).
    catching_up: bool = True
    held: list[Delivery] = field(default_factory=list)
    cursor: list[Any] | None = None
    #: The lowest op id answered `unavailable`. Later ops are answered the same way until the
    #: client resends from it, so a stroke's `app`s never reach the log without their `add`.
    unavailable_from: int | None = None
    id: int = field(default_factory=lambda: next(_peer_ids))
    #: The connection's wire codec, of its protocol version: what its frames stand for, and the
    #: frames it is sent.
    codec: Codec = field(default_factory=lambda: new_codec(1, HandleTable()))
    #: The socket asked for presence changes as deltas (`presence=delta`), not whole lists.
    presence_delta: bool = False
    #: The socket asked for others' ops before their commit (protocol §2.6): 0 no, 1 as `tent`
    #: frames, 2 as DOWN_TENT frames whose commit may come as a DOWN_PROMOTE (v2 only).
    tentative: int = 0
    #: When the share link whose token the socket presented expires (Unix time; None: never, or
    #: no link): its role is checked again then, as when a link is revoked.
    share_expires: float | None = None
    #: The fingerprint of the credential that admitted the socket (board.access; "" for none):
    #: revoking it closes the socket (Hub.close_user).
    credential: str = ""
    #: When the socket joined, on the hub's clock: of two sockets with one client id, the newer
    #: takes over (realtime.engine.takeover).
    joined_at: float = 0.0

    def refuse_from(self, op_id: int) -> None:
        """
        Remember that `op_id` was refused `unavailable`: hold back later ops until it is resent.
        """
        if self.unavailable_from is None or op_id < self.unavailable_from:
            self.unavailable_from = op_id

    def behind_refused(self, op_id: int) -> bool:
        """
        True when `op_id` follows an op refused `unavailable` that has not been resent yet.

        Such an op may depend on the refused one (an `app` on a refused `add`): checking it now
        would refuse it as `invalid_op` for good, while `unavailable` keeps it in the client's
        outbox.
        """
        if self.unavailable_from is None:
            return False
        if op_id > self.unavailable_from:
            return True
        self.unavailable_from = None
        return False

    def presence(self) -> PresenceEntry:
        return {
            "client_id": self.client_id,
            "user_id": self.user_id,
            "name": self.name or self.user_name,
            "color": self.color,
            "role": self.role,
        }

    def send_live(self, delivery: Delivery, *, lazy: bool = False) -> None:
        if self.catching_up:
            self.held.append(delivery)
            return
        (self.send_queue.push_lazy if lazy else self.send_queue.push)(self.codec.live(delivery))


@dataclass(eq=False, slots=True)
class Room:
    """
    A board with at least one local peer (or a pending load).
    """

    board_id: str
    peers: dict[int, Peer] = field(default_factory=dict)
    state: BoardState | None = None
    #: Highest seq handed to peers; -1 until the state is loaded.
    delivered_seq: int = -1
    #: The log prefix the state reflects (when `exact`).
    applied_seq: int = 0
    exact: bool = True
    #: Ops applied to the state but not yet committed (one batch in flight), and the seq they
    #: were checked at.
    spec_ops: int = 0
    spec_base: int = 0
    #: Seq ranges of this process's commits that landed past `applied_seq + 1` (other
    #: processes' ops came first and have not arrived yet): already in the state, so a later
    #: delivery of them must not apply them again, while the ops before them still must be.
    own_ranges: list[tuple[int, int]] = field(default_factory=list)
    busy: bool = False
    pending: list[tuple[Peer, dict[str, Any]]] = field(default_factory=list)
    reorder: dict[int, Delivery] = field(default_factory=dict)
    gap_since: float | None = None
    presence: PresenceBook = field(default_factory=PresenceBook)
    presence_dirty: bool = True
    #: When the last `presence` frame went to the room's sockets (loop time).
    presence_sent: float = float("-inf")
    #: The presence list as last sent to the room (by client id): what deltas are taken from.
    presence_last: dict[str, PresenceEntry] = field(default_factory=dict)
    snapshot_seq: int = 0
    snapshot_at: float = 0.0
    head_seen: int = 0
    empty_since: float | None = None
    #: The handle table shared by the codecs of the room's v2 sockets (realtime.wire.v2), the
    #: one its `tentative=2` sockets share instead, and the batch of the last tentative frames
    #: sent until the next delivery: only that one can be promoted (engine.tentative).
    handles: HandleTable = field(default_factory=HandleTable)
    tent_handles: HandleTable = field(default_factory=HandleTable)
    tent_last: TentBatch | None = None
    #: While a reload of the state reads the log: the deliveries made meanwhile, to apply on top
    #: of what the read returns (it may have been taken before them).
    reload_log: list[Delivery] | None = None
    #: The entries delivered last, for catch-ups from memory (realtime.engine.catchup).
    recent: RecentEntries = field(default_factory=RecentEntries)
    #: `presence_last` (that very dict) and its entries as JSON, for `hello`s.
    hello_presence_cache: tuple[dict[str, PresenceEntry], str] | None = None

    def begin_reload(self) -> None:
        """
        A log read that will replace the state has started: keep what is delivered meanwhile.
        """
        self.reload_log = []

    def finish_reload(self, state: BoardState) -> None:
        """
        Install a state read from the log, plus every delivery made while it was read.

        Deliveries go on being applied while the read runs; without this, those applied only to
        the old state were lost with it, and the next op on an element they added was refused.
        """
        delivered, self.reload_log = self.reload_log or [], None
        self.state, self.applied_seq, self.exact = state, state.seq, True
        self.own_ranges = []
        for d in delivered:
            if d.last <= self.applied_seq:
                continue
            if d.first > self.applied_seq + 1:
                self.exact = False
            self._apply_entries(d)
        if self.delivered_seq > self.applied_seq:
            self.exact = False

    def abort_reload(self) -> None:
        """
        The read failed: the old state missed what was delivered meanwhile.
        """
        if self.reload_log:
            self.exact = False
        self.reload_log = None

    @property
    def ready(self) -> bool:
        return self.delivered_seq >= 0

    def load(self, state: BoardState, snapshot_seq: int, now: float) -> list[Delivery]:
        """
        Install the freshly loaded state; return frames that were waiting for it, in order.
        """
        self.state, self.applied_seq, self.exact = state, state.seq, True
        self.delivered_seq = state.seq
        self.snapshot_seq, self.snapshot_at = snapshot_seq, now
        return self._drain_reorder()

    def offer(self, delivery: Delivery) -> list[Delivery]:
        """
        Take a frame from any source; return what can now be delivered, in seq order.
        """
        if not self.ready:
            self.reorder.setdefault(delivery.first, delivery)
            return []
        if delivery.last <= self.delivered_seq:
            return []
        if delivery.first > self.delivered_seq + 1:
            self.reorder.setdefault(delivery.first, delivery)
            return []
        return self._drain_reorder(delivery)

    def _drain_reorder(self, head: Delivery | None = None) -> list[Delivery]:
        out: list[Delivery] = []
        while True:
            if head is None:
                head = self._next_buffered()
                if head is None:
                    break
            if head.last > self.delivered_seq:
                whole = head
                if head.first <= self.delivered_seq:
                    head = self._trimmed(head)
                # Any delivery ends what a DOWN_TENT can be promoted by: the clients dropped it.
                if head.promote is not None and head.promote is not self.tent_last:
                    head.promote = None
                self.tent_last = None
                self._apply(head)
                out.append(head)
                self.delivered_seq = head.last
                self.recent.add(whole)
            head = None
        self.gap_since = None if not self.reorder else self.gap_since
        return out

    def _next_buffered(self) -> Delivery | None:
        for first in sorted(self.reorder):
            if first <= self.delivered_seq + 1:
                return self.reorder.pop(first)
            break
        for first in [f for f, d in self.reorder.items() if d.last <= self.delivered_seq]:
            del self.reorder[first]
        return None

    def _trimmed(self, d: Delivery) -> Delivery:
        entries = d.entries if d.entries is not None else split_ops_frame(d.frame)
        rest = entries[self.delivered_seq - d.first + 1 :]
        frame = ops_frame_from_entries(rest)
        return Delivery(self.delivered_seq + 1, d.last, frame, rest, d.applied)

    def _apply(self, d: Delivery) -> None:
        if self.reload_log is not None:
            self.reload_log.append(d)
            return
        if d.applied or self.state is None:
            return
        if self.spec_ops or d.first > self.applied_seq + 1:
            self.exact = False  # a hole, or uncommitted ops already in the state
        if d.last <= self.applied_seq:
            return
        self._apply_entries(d)

    def _apply_entries(self, d: Delivery) -> None:
        assert self.state is not None
        entries = d.entries if d.entries is not None else split_ops_frame(d.frame)
        own = self.own_ranges
        for raw in entries:
            op = msgpack.unpackb(raw)
            seq = op["s"]
            if seq > self.applied_seq and not (own and any(a <= seq <= b for a, b in own)):
                apply_in_place(self.state, op)
        self.applied_seq = d.last
        if own:
            self.own_ranges = [r for r in own if r[1] > d.last]

    def committed(self, first: int, last: int, clean: bool) -> None:
        """
        Settle the state after this process stored the ops it had applied (`spec_ops`) at seqs
        first..last (0..0: none new); `clean` when exactly those ops were stored, in order.
        """
        self.spec_ops = 0
        if clean and self.exact and (not last or first == self.spec_base + 1):
            self.applied_seq = last or self.applied_seq
            return
        self.exact = False
        if not last:
            return
        if first <= self.applied_seq + 1:
            self.applied_seq = max(self.applied_seq, last)
        else:
            # Other processes' ops came first and are still on their way: keep room for them
            # rather than skip them (the state would lack them until its next reload, and
            # refuse ops on elements they added).
            self.own_ranges.append((first, last))

    def gap_range(self) -> tuple[int, int] | None:
        """
        The missing (after, upto) seqs before the first buffered frame, or None.
        """
        if not self.reorder or not self.ready:
            return None
        first = min(self.reorder)
        return (self.delivered_seq, first - 1) if first > self.delivered_seq + 1 else None

    def snapshot_current(self) -> bool:
        """
        True when the in-memory state is exactly the board at delivered_seq.
        """
        return (
            self.state is not None
            and self.exact
            and self.reload_log is None
            and not self.spec_ops
            and self.applied_seq == self.delivered_seq
        )

    def send_cursors(self, rows: list[list[Any]]) -> None:
        """
        One `cur` frame with this tick's cursors to every live socket with room in its queue.
        """
        frame = encode(Cursors(c=rows))
        for peer in self.peers.values():
            if not peer.catching_up and peer.send_queue.load < CURSOR_SKIP_LOAD:
                peer.send_queue.push(frame)

    def hello_presence(self, peer: Peer) -> str:
        """
        The `presence` array of a joining peer's `hello`, as JSON: the list as last sent to the
        room (`presence_last`) plus the peer itself.

        The list is encoded once per presence frame, not once per join: merging and encoding the
        whole room's list for each join would make a wave of n sockets joining a board O(n^2).
        It is at most one frame interval old (protocol §2.4: at most every 250 ms); the join
        marks presence changed, so the next frame brings the rest, and a delta from the list as
        last sent is a delta from this one.
        """
        last = self.presence_last
        cached = self.hello_presence_cache
        if cached is None or cached[0] is not last:
            cached = (last, _items_json([dict(e) for e in last.values()]))
            self.hello_presence_cache = cached
        body = cached[1]
        if peer.client_id not in last:
            own = _items_json([dict(peer.presence())])
            body = f"{body},{own}" if body else own
        return f"[{body}]"

    def local_presence(self) -> list[PresenceEntry]:
        return [p.presence() for p in self.peers.values()]
