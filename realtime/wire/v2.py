"""
Protocol v2 (docs/protocol.md §2.5) for one connection: compact stroke frames in, `DOWN_OPS` out.

Everything v1 carries stays v1 on a v2 connection; what v2 adds needs state per connection,
kept here: the *current stroke* (what UP_APP and UP_NEXT append to), the *last op id* (what
UP_NEXT numbers after) and the style of the last UP_ADD with one (what an empty style repeats).
The server tracks them in frame order, as the client does (frontend/src/wire.ts). Deliveries go
out as the room's `DOWN_OPS` frame, encoded once for all its v2 sockets with the room's handle
table (realtime.wire.handles).

A socket opened with `tentative=2` (§2.6) shares another table, the room's tentative table, with
the room's other such sockets: its DOWN_TENT frames and its DOWN_OPS frames both use it, and when
a delivery's entries are exactly the ops of the DOWN_TENT it was sent last, it gets a
DOWN_PROMOTE of two varints instead of the entries. The table changes only with frames that
every live socket sharing it receives: DOWN_TENT (to each, authors included) and a DOWN_OPS that
nobody promotes. A socket that cannot promote a delivery others promote (it went live after the
DOWN_TENT) gets the v1 `ops` frame, which names no handle.
"""

from __future__ import annotations

from typing import Any

from realtime.wire.codec import Codec, Deliverable, FrameLimits, Inbound, frame_too_large
from realtime.wire.compact import UpAdd, UpApp, UpNext
from realtime.wire.frames import split_ops_frame
from realtime.wire.handles import (
    HandleTable,
    encode_cont,
    encode_defs,
    encode_delivery,
    encode_tentatives,
)
from realtime.wire.protocol import ClientAppend, ClientOps, ErrorCode, ProtocolError
from realtime.wire.tentative import TentBatch, promote_frame
from realtime.wire.v1 import UP_FRAMES, decode_binary, decode_compact, is_op_id, oversize_ids

#: Keys of Deliverable.encoded: DOWN_OPS with the room's table, with its tentative table, and
#: DOWN_PROMOTE.
PLAIN, TENTATIVE, PROMOTE = 2, 3, 4


class V2Codec(Codec):
    """
    A protocol v2 connection on a board whose v2 sockets share `handles`.
    """

    __slots__ = ("handles", "kind", "last_i", "seen", "stroke", "style")
    version = 2

    def __init__(
        self, handles: HandleTable, limits: FrameLimits, *, tentative: bool = False
    ) -> None:
        super().__init__(limits)
        self.handles = handles
        #: `tentative=2`: `handles` is the room's tentative table, and deliveries may be promoted.
        self.kind = TENTATIVE if tentative else PLAIN
        #: The batch of the last DOWN_TENT sent, until a frame of log entries follows it.
        self.seen: TentBatch | None = None
        #: The `id` of the last stroke `add` or `app` decoded, accepted or not (§2.5).
        self.stroke: str | None = None
        #: The `i` of the last op of the last op frame decoded; None after a frame refused
        #: whole (§2.5: what it held is unknown).
        self.last_i: int | None = None
        #: The style of the last UP_ADD that had one (what an empty style stands for).
        self.style: Any = None

    def decode(self, data: bytes) -> Inbound:
        limits = self.limits
        try:
            if len(data) > limits.max_frame_bytes:
                raise frame_too_large(len(data), oversize_ids(data))
            if data and data[0] in UP_FRAMES:
                up = decode_compact(data, limits.max_points_per_op)
            else:
                msg = decode_binary(data, max_ops_per_frame=limits.max_ops_per_frame)
                if isinstance(msg, ClientOps):
                    self._follow(msg.ops)
                return msg
        except ProtocolError:
            self.last_i = None
            raise
        if isinstance(up, UpNext):
            if self.last_i is None:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, "UP_NEXT before any op on this connection"
                )
            self.last_i += 1
            return self._append(self.last_i, up.p, None)
        self.last_i = up.i
        if isinstance(up, UpApp):
            return self._append(up.i, up.p, up.pr)
        return self._add(up)

    def _append(self, i: int, p: list[int], pr: list[int] | None) -> ClientAppend:
        if self.stroke is None:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "UP_APP before any stroke on this connection", [i]
            )
        return ClientAppend(i, self.stroke, p, pr)

    def _add(self, up: UpAdd) -> ClientOps:
        self.stroke = up.id  # decoded: the current stroke, whatever becomes of the op
        style = up.style
        if style is None:
            if self.style is None:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, "UP_ADD without a style to repeat", [up.i]
                )
            style = self.style
        else:
            self.style = style
        el: dict[str, Any] = {
            "id": up.id,
            "type": "stroke",
            "x": up.x,
            "y": up.y,
            # A copy per op: the state keeps it, and `upd` merges into element styles in place.
            "style": dict(style) if isinstance(style, dict) else style,
            "p": up.p,
        }
        if up.pr is not None:
            el["pr"] = up.pr
        return ClientOps([{"i": up.i, "k": "add", "el": el}])

    def _follow(self, ops: list[Any]) -> None:
        """
        Follow an `ops` frame's stroke ops and last op id (§2.5), whether they are accepted or
        not.
        """
        for op in ops:
            if not isinstance(op, dict):
                continue
            kind = op.get("k")
            if kind == "app":
                target = op.get("id")
            elif kind == "add":
                el = op.get("el")
                target = (
                    el.get("id") if isinstance(el, dict) and el.get("type") == "stroke" else None
                )
            else:
                continue
            if isinstance(target, str):
                self.stroke = target
        i = ops[-1].get("i") if isinstance(ops[-1], dict) else None
        self.last_i = i if is_op_id(i) else None

    def live(self, delivery: Deliverable) -> bytes:
        if self.kind == PLAIN:
            # Runs for every socket of every delivery, so the hit is one subscript keyed by a
            # literal rather than a lookup of self.kind and a dict.get.
            try:
                return delivery.encoded[2]
            except KeyError:
                return self._encode(delivery, PLAIN)
        seen, self.seen = self.seen, None
        batch = delivery.promote
        if batch is None:
            try:
                return delivery.encoded[TENTATIVE]
            except KeyError:
                return self._encode(delivery, TENTATIVE)
        if batch is not seen:
            return delivery.frame  # others promote it: a frame that leaves the table as it is
        try:
            return delivery.encoded[PROMOTE]
        except KeyError:
            frame = delivery.encoded[PROMOTE] = promote_frame(delivery.first, len(batch.ops))
            return frame

    def tentative(self, batch: TentBatch) -> bytes:
        if self.kind == PLAIN:
            return batch.v1_frame()
        self.seen = batch
        if batch.compact is None:
            batch.compact = encode_tentatives(
                self.handles, batch.ops, self.limits.max_points_per_op
            )
        return batch.compact

    def _encode(self, delivery: Deliverable, kind: int) -> bytes:
        entries = delivery.entries
        if entries is None:
            entries = delivery.entries = split_ops_frame(delivery.frame)
        frame = delivery.encoded[kind] = encode_delivery(
            self.handles,
            delivery.first,
            entries,
            delivery.authored,
            max_points=self.limits.max_points_per_op,
        )
        return frame

    def going_live(self) -> list[bytes]:
        # From here on the connection gets every DOWN_OPS frame of the room, so the table as it
        # stands is all it needs (§2.5, DEFS and CONT). A DOWN_TENT sent before the catch-up
        # cannot be promoted any more: the catch-up's frames came after it.
        self.seen = None
        table = self.handles
        if not len(table):
            return []
        frames = [encode_defs(table.definitions())]
        if table.conts:
            frames.append(encode_cont(table.continuations()))
        return frames
