"""
Protocol v1 (docs/protocol.md §2.1, §2.3): decoding a client's msgpack and JSON frames, and the
v1 connection's codec.

Pure: no Django, no channel layer, no I/O. Binary frames are msgpack maps keyed by `t`, text
frames JSON objects keyed by `type` (text frames are v1 in every version). Decoders raise
ProtocolError carrying an ErrorCode. Ops inside `ops` frames are returned raw: their deep
validation needs the limits and the board and belongs to the document model
(board.document.validate_op).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

import msgpack

from board.document.limits import OP_ID_MAX
from board.text import NOT_SCALAR_TEXT, non_scalar_path
from realtime.wire.codec import (
    DEFAULT_MAX_OPS_PER_FRAME,
    Codec,
    Deliverable,
    Inbound,
    frame_too_large,
)
from realtime.wire.compact import (
    UP_ADD,
    UP_APP,
    UP_NEXT,
    CompactError,
    UpAdd,
    UpApp,
    UpNext,
    decode_up_add,
    decode_up_app,
    decode_up_next,
)
from realtime.wire.protocol import (
    ClientCursor,
    ClientOps,
    ClientPing,
    ClientPresence,
    ClientResync,
    ErrorCode,
    ProtocolError,
)

#: Coordinates are bounded by the document model (protocol §3.1); cursors reuse the range.
MAX_COORD = 10_000_000
#: First bytes of the compact client frames (§2.5). None is a msgpack map prefix (0x80-0x8f,
#: 0xde, 0xdf), so a binary frame's first byte tells a v1 frame from a compact one.
UP_FRAMES = frozenset((UP_APP, UP_ADD, UP_NEXT))
#: Decoder caps: far above any legal 256 KiB frame, so they only stop allocation bombs.
_MAX_CONTAINER_LEN = 300_000
_MAX_STR_LEN = 1 << 20
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_MAX_NAME_CHARS = 64


def valid_client_id(value: object) -> bool:
    """
    True when `value` is a client id the protocol accepts (8-64 chars of [A-Za-z0-9_-]).
    """
    return isinstance(value, str) and _CLIENT_ID_RE.match(value) is not None


class V1Codec(Codec):
    """
    A protocol v1 connection: msgpack frames both ways, live deliveries as the log's `ops` frame.
    """

    __slots__ = ()
    version = 1

    def decode(self, data: bytes) -> Inbound:
        limits = self.limits
        if len(data) > limits.max_frame_bytes:
            raise frame_too_large(len(data), oversize_ids(data))
        if data and data[0] in UP_FRAMES:
            up = decode_compact(data, limits.max_points_per_op)
            ids = None if isinstance(up, UpNext) else [up.i]
            raise ProtocolError(ErrorCode.BAD_FRAME, "compact frames need protocol v2", ids)
        return decode_binary(data, max_ops_per_frame=limits.max_ops_per_frame)

    def live(self, delivery: Deliverable) -> bytes:
        return delivery.frame


# --- binary frames -------------------------------------------------------------------------------


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_bin_len=_MAX_STR_LEN,
            max_str_len=_MAX_STR_LEN,
            max_array_len=_MAX_CONTAINER_LEN,
            max_map_len=_MAX_CONTAINER_LEN,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises many types (ExtraData, ValueError, StackError...)
        raise ProtocolError(ErrorCode.BAD_FRAME, f"undecodable msgpack: {exc}") from None


def _coord(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_COORD <= value <= MAX_COORD:
        return value
    raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{name}: expected an int within ±{MAX_COORD}")


def is_op_id(value: object) -> bool:
    """
    True when `value` is a client op id: an int in 1..2^53-1 (protocol §3.2).
    """
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= OP_ID_MAX


def op_ids(ops: list[Any]) -> list[int]:
    """
    The client op ids that can be read from raw ops, for error frames: an op whose `i` is
    missing or out of range has none to name.
    """
    return [op["i"] for op in ops if isinstance(op, dict) and is_op_id(op.get("i"))]


def decode_binary(
    data: bytes, *, max_ops_per_frame: int = DEFAULT_MAX_OPS_PER_FRAME
) -> ClientOps | ClientCursor:
    """
    Decode a client's msgpack frame (`ops` or `cur`). Raises ProtocolError.
    """
    msg = _unpack(data)
    if not isinstance(msg, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a binary frame must be a msgpack map")
    kind = msg.get("t")
    if kind == "ops":
        ops = msg.get("ops")
        if not isinstance(ops, list) or not ops:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "ops: expected a non-empty array")
        if len(ops) > max_ops_per_frame:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"ops: {len(ops)} ops in one frame, at most {max_ops_per_frame}",
                ids=op_ids(ops),
            )
        return ClientOps(ops=ops)
    if kind == "cur":
        vp = msg.get("vp")
        if vp is not None:
            if not isinstance(vp, list) or len(vp) != 4:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "vp: expected [x, y, w, h]")
            vp = [_coord(v, "vp") for v in vp]
        laser = msg.get("l", 0)
        # Exactly 0 or 1 (not a bool, not 1.0): the same value travels on in the room's rows,
        # so a client that sends something else learns it now rather than others misreading it.
        if type(laser) is not int or laser not in (0, 1):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "l: expected 0 or 1")
        return ClientCursor(
            x=_coord(msg.get("x"), "x"), y=_coord(msg.get("y"), "y"), vp=vp, laser=laser == 1
        )
    return _unknown(kind, "t")


def decode_compact(data: bytes, max_points_per_op: int) -> UpApp | UpAdd | UpNext:
    """
    Decode a compact client frame (§2.5; first byte in UP_FRAMES). Raises ProtocolError.
    """
    try:
        if data[0] == UP_APP:
            return decode_up_app(data, max_points_per_op)
        if data[0] == UP_NEXT:
            return decode_up_next(data, max_points_per_op)
        # A stroke `add` is bounded by max_points_per_stroke, checked by validation as for an
        # `add` in an `ops` frame (`board_full`); a point takes a byte at least, so the frame's
        # length bounds what decoding allocates.
        return decode_up_add(data, len(data))
    except CompactError as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"bad compact frame: {exc}") from None


def oversize_ids(data: bytes) -> list[int] | None:
    """
    The op ids a frame above max_frame_bytes holds, read without the limits, for its `too_large`
    answer (protocol §6); None when it holds none (a cursor, an UP_NEXT) or does not decode.
    """
    try:
        if data and data[0] in UP_FRAMES:
            up = decode_compact(data, len(data))
            if isinstance(up, UpNext):
                return None
            return [up.i] if is_op_id(up.i) else []
        msg = decode_binary(data, max_ops_per_frame=len(data))
    except ProtocolError as exc:
        return exc.ids
    return op_ids(msg.ops) if isinstance(msg, ClientOps) else None


def _unknown(kind: object, key: str) -> NoReturn:
    if kind is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"missing {key!r}")
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown {key}: {str(kind)[:40]!r}")


# --- text frames ---------------------------------------------------------------------------------


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"non-finite number {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"undecodable JSON: {exc}") from None


def decode_text(text: str) -> ClientResync | ClientPresence | ClientPing:
    """
    Decode a client's text frame. Raises ProtocolError.
    """
    msg = _loads(text)
    if not isinstance(msg, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a text frame must be a JSON object")
    # JSON may spell a lone surrogate ("\\ud800"), which no UTF-8 encoder takes: echoed in a
    # pong or shown in presence it would fail later, in the socket's writer or the shared tick.
    # Every string of the frame, read or not, is checked here (text frames are small and rare).
    bad = non_scalar_path(msg)
    if bad is not None:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"{bad}: {NOT_SCALAR_TEXT}" if bad else f"a key: {NOT_SCALAR_TEXT}",
        )
    kind = msg.get("type")
    if kind == "resync":
        seq = msg.get("from")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0:
            return ClientResync(from_seq=seq)
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "from: expected an int >= 0")
    if kind == "presence":
        name, color = msg.get("name"), msg.get("color")
        if not isinstance(name, str) or len(name) > _MAX_NAME_CHARS:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "name: expected a string of <= 64 chars")
        if not isinstance(color, str) or not _COLOR_RE.match(color):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "color: expected #rrggbb")
        return ClientPresence(name=name, color=color)
    if kind == "ping":
        t = msg.get("t")
        if isinstance(t, dict | list):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "t: expected a JSON scalar")
        return ClientPing(t=t)
    return _unknown(kind, "type")
