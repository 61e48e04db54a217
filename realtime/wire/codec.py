"""
One codec per connection: what every protocol version's codec does, whatever its frames.

A socket's codec turns its binary frames into what the engine handles (raw ops, a typed stroke
append, a cursor) and chooses the frame the socket is sent for each delivery and at the end of
its catch-up, as frontend/src/wire.ts does in the browser. Protocol v1 is realtime.wire.v1,
v2 realtime.wire.v2. What a version must remember between frames of one connection (v2's current
stroke, last op id and last style) lives in that connection's codec; what its encoding shares
across a board's sockets (v2's handle table) is handed to the codec when the socket joins.

A delivery is encoded at most once per codec kind however many sockets receive it: the first
socket of a kind to be sent it encodes it into `Deliverable.encoded`, the others reuse that. Text
frames (resync, presence, ping) are the same in every version (realtime.wire.v1.decode_text).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from board.document.limits import Limits
from realtime.conf import RealtimeSettings
from realtime.wire.frames import ops_frames
from realtime.wire.protocol import ClientAppend, ClientCursor, ClientOps, ErrorCode, ProtocolError
from realtime.wire.tentative import TentBatch

#: Default cap on ops per client frame when the caller passes none: the setting's default.
DEFAULT_MAX_OPS_PER_FRAME = RealtimeSettings().max_ops_per_frame
#: Default cap on points per op when the caller passes none: the board's default (board.conf).
DEFAULT_MAX_POINTS_PER_OP = Limits().max_points_per_op

#: (author client id, op) per entry of a delivery, when the process knows them (its own
#: commits): spares an encoder decoding entries it has just encoded.
Authored = Sequence[tuple[str, Mapping[str, Any]]]
#: What a connection's binary frame stands for: ops to validate, one stroke append already typed,
#: or a cursor.
Inbound = ClientOps | ClientAppend | ClientCursor


@dataclass(frozen=True, slots=True)
class FrameLimits:
    """
    The bounds a connection's frames are decoded with: its `hello.limits` (protocol §5).
    """

    max_frame_bytes: int
    max_ops_per_frame: int
    max_points_per_op: int


class Deliverable(Protocol):
    """
    What a codec needs of a delivery: log entries contiguous in seq from `first`, as the v1
    `ops` frame every version can fall back to, and its encodings for other codec kinds.
    """

    first: int
    frame: bytes
    #: The entries' stored bytes, when known (else split from `frame` when needed).
    entries: list[bytes] | None
    authored: Authored | None
    #: Codec kind → the delivery as that kind's frame, once encoded.
    encoded: dict[int, bytes]
    #: The tentative batch whose ops the entries are, in order, when the sockets sent it as
    #: DOWN_TENT can be sent a DOWN_PROMOTE instead (§2.6, `tentative=2`).
    promote: TentBatch | None


def frame_too_large(size: int, ids: list[int] | None, unit: str = "bytes") -> ProtocolError:
    """
    The error for a frame above max_frame_bytes: refused whole, naming the op ids it holds.
    """
    return ProtocolError(ErrorCode.TOO_LARGE, f"frame of {size} {unit} is too large", ids)


class Codec(ABC):
    """
    One connection's wire codec.
    """

    __slots__ = ("limits",)

    #: The protocol version the codec speaks (the connection's `?v=`, its `hello.v`).
    version: ClassVar[int]

    def __init__(self, limits: FrameLimits) -> None:
        self.limits = limits

    @abstractmethod
    def decode(self, data: bytes) -> Inbound:
        """
        What a binary frame from the client stands for. Raises ProtocolError (answered with an
        `error` frame; the connection stays open).
        """

    @abstractmethod
    def live(self, delivery: Deliverable) -> bytes:
        """
        The frame that carries `delivery` to this connection once it is live.
        """

    def catch_up(self, rows: Sequence[tuple[int, bytes]], per_frame: int) -> list[bytes]:
        """
        The frames that carry log rows (seq, entry) to this connection during its catch-up: `ops`
        frames of at most `per_frame` entries, in every version (protocol §4).
        """
        return ops_frames(rows, per_frame)

    def tentative(self, batch: TentBatch) -> bytes:
        """
        The frame that offers `batch` to this connection as tentatives (§2.6): the `tent` frame,
        whatever the version, unless the connection asked for compact ones.
        """
        return batch.v1_frame()

    def going_live(self) -> list[bytes]:
        """
        The frames the connection needs, after its catch-up and the live frames held meanwhile,
        to read the live frames that follow (none unless the version keeps state across frames).
        """
        return []
