"""
Deliveries: the in-order runs of log entries a room hands its sockets, and the tail of them it
keeps for catch-ups.

Every delivery a room makes is an `ops` frame of log entries in seq order (realtime.engine.room),
so the entries it keeps (RecentEntries) are the log's tail, byte for byte: a socket a little
behind catches up from memory, without a query (realtime.engine.catchup).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from realtime.wire.codec import Authored
from realtime.wire.frames import exact_entries, ops_frame_from_entries, split_ops_frame
from realtime.wire.tentative import TentBatch

#: Bounds of RecentEntries: a reconnect wave or a resync a few seconds behind is served from
#: memory; one from before the oldest kept entry reads the log (realtime.engine.catchup).
RECENT_MAX_OPS = 2000
RECENT_MAX_BYTES = 512 * 1024


@dataclass(slots=True)
class Delivery:
    """
    Log entries at seqs first..last, in order, as one `ops` frame; `entries` kept when known
    (local commits and log reads), `applied` when they are already in the room state (local
    commits).
    """

    first: int
    last: int
    frame: bytes
    entries: list[bytes] | None = None
    applied: bool = False
    #: (author, op) per entry, when this process committed them (spares encoders decoding them).
    authored: Authored | None = None
    #: The delivery as other codec kinds' frames, each encoded once, by the first socket of that
    #: kind it is sent to (realtime.wire.codec).
    encoded: dict[int, bytes] = field(default_factory=dict)
    #: The tentative batch these entries are, in order (a local commit's clean delivery): the
    #: sockets sent it as DOWN_TENT get a DOWN_PROMOTE (realtime.wire.v2). The room clears it
    #: unless the delivery is the first to follow that batch's DOWN_TENT.
    promote: TentBatch | None = None

    def after(self, seq: int) -> bytes:
        """
        The frame without the entries at or below `seq` (re-encoded: rare partial overlap).
        """
        if seq < self.first:
            return self.frame
        entries = self.entries if self.entries is not None else split_ops_frame(self.frame)
        return ops_frame_from_entries(entries[seq - self.first + 1 :])


class RecentEntries:
    """
    The stored bytes of the entries a room delivered last: seqs `lo`+1..`hi`, contiguous, at
    most RECENT_MAX_OPS entries and about RECENT_MAX_BYTES.

    Every delivery a room makes is an `ops` frame of log entries in seq order, so what it keeps
    here is the log's tail, byte for byte: a catch-up built from it is the one a log read gives.
    A delivery is kept as it came: its entries when the room has them (own commits, log reads),
    else its frame (another process's batch), split into exact slices only when a catch-up needs
    them. A log read can extend the tail backwards (`fill`), so one reader's read serves the
    sockets behind it.
    """

    __slots__ = ("_items", "hi", "lo", "max_bytes", "max_ops", "ops", "size")

    def __init__(self, max_ops: int = RECENT_MAX_OPS, max_bytes: int = RECENT_MAX_BYTES) -> None:
        self.max_ops = max_ops
        self.max_bytes = max_bytes
        #: [first, last, entries or None, frame or None, bytes], oldest first.
        self._items: deque[list[Any]] = deque()
        #: Kept: lo < seq <= hi. -1 until the first delivery.
        self.lo = self.hi = -1
        self.ops = self.size = 0

    def clear(self, at: int = -1) -> None:
        """
        Forget every entry; with `at`, the (empty) tail ends at seq `at`.
        """
        self._items.clear()
        self.lo = self.hi = at
        self.ops = self.size = 0

    def add(self, delivery: Delivery) -> None:
        """
        Keep a delivery whose seqs go on from `hi` (it may repeat some of the last ones: the room
        delivered it trimmed, re-encoded, and what is kept must be the log's bytes).
        """
        first, last = delivery.first, delivery.last
        entries, frame = delivery.entries, delivery.frame
        if entries is not None and len(entries) != last - first + 1:
            entries = None  # not what its seqs say: slice the frame if a catch-up needs it
        size = len(frame)
        if 0 <= self.hi < last and first <= self.hi:
            if entries is None:
                entries = exact_entries(frame, last - first + 1)
                if entries is None:
                    self.clear(last)
                    return
            entries = entries[self.hi - first + 1 :]
            first, frame = self.hi + 1, b""
            size = sum(map(len, entries))
        elif self.hi < 0 or first != self.hi + 1:
            # The first delivery (or, should deliveries ever skip, a fresh start after it).
            self.clear(first - 1)
        self._items.append([first, last, entries, frame if entries is None else None, size])
        self.hi = last
        self.ops += last - first + 1
        self.size += size
        self._trim()

    def _trim(self) -> None:
        items = self._items
        while items and (self.ops > self.max_ops or self.size > self.max_bytes):
            first, last, _e, _f, size = items.popleft()
            self.lo = last
            self.ops -= last - first + 1
            self.size -= size

    def rows_after(self, since: int, head: int) -> list[tuple[int, bytes]] | None:
        """
        (seq, entry) for since < seq <= head, or None unless exactly that is kept.
        """
        if since == head:
            return []
        if head != self.hi or not self.lo <= since <= self.hi:
            return None
        rows: list[tuple[int, bytes]] = []
        for item in self._items:
            first, last, entries = item[0], item[1], item[2]
            if last <= since:
                continue
            if entries is None:
                entries = exact_entries(item[3], last - first + 1)
                if entries is None:
                    # Not a frame we can slice exactly: from here on the log serves.
                    self.clear(self.hi)
                    return None
                item[2], item[3] = entries, None
            skip = max(0, since - first + 1)
            rows.extend(zip(range(first + skip, last + 1), entries[skip:], strict=True))
        return rows

    def fill(self, rows: list[tuple[int, bytes]], head: int) -> None:
        """
        Extend the tail backwards with rows read from the log (in seq order, contiguous, none
        after `head`, the room's delivered seq): those at or below `lo`, as many as fit.
        """
        if self.hi != head:
            if self.hi >= 0:
                return  # a delivery is being made: leave the tail as it is
            self.clear(head)
        older = [r for r in rows if r[0] <= self.lo]
        if not older or older[-1][0] != self.lo or older[-1][0] - older[0][0] + 1 != len(older):
            return
        room_ops = self.max_ops - self.ops
        keep: list[tuple[int, bytes]] = []
        size = 0
        for row in reversed(older):
            if len(keep) >= room_ops or self.size + size + len(row[1]) > self.max_bytes:
                break
            keep.append(row)
            size += len(row[1])
        if not keep:
            return
        keep.reverse()
        first = keep[0][0]
        self._items.appendleft([first, self.lo, [e for _, e in keep], None, size])
        self.lo = first - 1
        self.ops += len(keep)
        self.size += size
