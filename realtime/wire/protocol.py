"""
The wire codec of protocol v1 (docs/protocol.md): decoders and encoders for every message.

Pure: no Django, no channel layer, no I/O, and the project's one `json` user on the wire. Binary
frames are msgpack maps keyed by `t`, text frames JSON objects keyed by `type`. Decoders raise
ProtocolError carrying an ErrorCode; encoders return the exact bytes/str to send. Ops inside
client `ops` frames are returned raw: their deep validation needs the limits and the board and
belongs to the document model (board.document.validate_op).
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Sequence
from typing import Any, NoReturn

import msgpack

from board.document.limits import OP_ID_MAX
from board.text import NOT_SCALAR_TEXT, non_scalar_path
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
from realtime.wire.messages import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Ack,
    BoardMeta,
    ClientCursor,
    ClientMessage,
    ClientOps,
    ClientPing,
    ClientPresence,
    ClientResync,
    CloseCode,
    Cursors,
    Error,
    ErrorCode,
    Hello,
    OpsFrame,
    Pong,
    Presence,
    PresenceDelta,
    ProtocolError,
    ServerMessage,
    Snap,
    Synced,
)

#: Coordinates are bounded by the document model (protocol §3.1); cursors reuse the range.
MAX_COORD = 10_000_000
#: Default cap on ops per client frame when the caller passes none (protocol §5).
DEFAULT_MAX_OPS_PER_FRAME = 256
#: Default cap on points per op when the caller passes none (protocol §5).
DEFAULT_MAX_POINTS_PER_OP = 1024
#: Decoder caps: far above any legal 256 KiB frame, so they only stop allocation bombs.
_MAX_CONTAINER_LEN = 300_000
_MAX_STR_LEN = 1 << 20
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_MAX_NAME_CHARS = 64
#: Pre-encoded head of a server `ops` frame: fixmap(2), "t": "ops", "ops": <array follows>.
_OPS_FRAME_HEAD = b"\x82" + msgpack.packb("t") + msgpack.packb("ops") + msgpack.packb("ops")

_SERVER_TEXT = {"hello", "synced", "presence", "presence_delta", "board", "error", "pong"}
_TEXT_TYPES = (
    Hello,
    Synced,
    Presence,
    PresenceDelta,
    BoardMeta,
    Error,
    Pong,
    ClientResync,
    ClientPresence,
    ClientPing,
)


def valid_client_id(value: object) -> bool:
    """
    True when `value` is a client id the protocol accepts (8-64 chars of [A-Za-z0-9_-]).
    """
    return isinstance(value, str) and _CLIENT_ID_RE.match(value) is not None


# --- decoding: client → server ------------------------------------------------------------------


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
    data: bytes,
    *,
    max_ops_per_frame: int = DEFAULT_MAX_OPS_PER_FRAME,
    max_points_per_op: int = DEFAULT_MAX_POINTS_PER_OP,
) -> ClientOps | ClientCursor | UpApp | UpAdd | UpNext:
    """
    Decode a client's binary frame: a msgpack map, or a v2 compact frame (§2.5). Raises
    ProtocolError.
    """
    first = data[0] if data else None
    if first in (UP_APP, UP_ADD, UP_NEXT):
        try:
            if first == UP_APP:
                return decode_up_app(data, max_points_per_op)
            if first == UP_NEXT:
                return decode_up_next(data, max_points_per_op)
            # A stroke `add` is bounded by max_points_per_stroke, checked by validation as for
            # an `add` in an `ops` frame (`board_full`); a point takes a byte at least, so the
            # frame's length bounds what decoding allocates.
            return decode_up_add(data, len(data))
        except CompactError as exc:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"bad compact frame: {exc}") from None
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
        return ClientCursor(x=_coord(msg.get("x"), "x"), y=_coord(msg.get("y"), "y"), vp=vp)
    return _unknown(kind, "t")


def _unknown(kind: object, key: str) -> NoReturn:
    if kind is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"missing {key!r}")
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown {key}: {str(kind)[:40]!r}")


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


# --- decoding: server → client (test clients, bench, fixtures) ----------------------------------


def decode_server_text(text: str) -> ServerMessage:
    """
    Decode a server text frame into its dataclass (raises ProtocolError).
    """
    msg = _loads(text)
    if not isinstance(msg, dict) or msg.get("type") not in _SERVER_TEXT:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "not a server text message")
    body = {k: v for k, v in msg.items() if k != "type"}
    try:
        match msg["type"]:
            case "hello":
                return Hello(**body)
            case "synced":
                return Synced(**body)
            case "presence":
                return Presence(**body)
            case "presence_delta":
                return PresenceDelta(**body)
            case "board":
                return BoardMeta(**body)
            case "error":
                return Error(**body)
            case _:
                return Pong(**body)
    except TypeError as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None


def decode_server_binary(data: bytes) -> ServerMessage:
    """
    Decode a server binary frame into its dataclass (raises ProtocolError).
    """
    msg = _unpack(data)
    if not isinstance(msg, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a binary frame must be a msgpack map")
    try:
        match msg.get("t"):
            case "ops":
                return OpsFrame(ops=msg["ops"])
            case "ack":
                return Ack(a=[(int(i), int(s)) for i, s in msg["a"]])
            case "snap":
                return Snap(s=msg["s"], els=msg["els"])
            case "cur":
                return Cursors(c=msg["c"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
    return _unknown(msg.get("t"), "t")


# --- encoding ------------------------------------------------------------------------------------


def _dumps(wire: dict[str, Any]) -> str:
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(message: ServerMessage | ClientMessage) -> bytes | str:
    """
    Encode any message: text messages to a JSON str, binary ones to msgpack bytes.
    """
    wire = message.to_wire()
    if isinstance(message, _TEXT_TYPES):
        return _dumps(wire)
    packed: bytes = msgpack.packb(wire)
    return packed


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def ops_frame_from_entries(entries: Sequence[bytes]) -> bytes:
    """
    Build a server `ops` frame by concatenating stored msgpack entries (no per-entry encoding).
    """
    return b"".join((_OPS_FRAME_HEAD, _array_header(len(entries)), *entries))


def split_ops_frame(frame: bytes) -> list[bytes]:
    """
    Return the msgpack bytes of each entry of an `ops` frame (rare path: partial overlaps).
    """
    entries: list[bytes] = [msgpack.packb(e) for e in msgpack.unpackb(frame)["ops"]]
    return entries


def entry_seqs(frame: bytes) -> tuple[int, int]:
    """
    Return (first_seq, last_seq) of an `ops` frame (decodes it; not for the hot path).
    """
    ops = msgpack.unpackb(frame)["ops"]
    return int(ops[0]["s"]), int(ops[-1]["s"])


def error_text(
    code: ErrorCode, message: str, ids: list[int] | None = None, field: str | None = None
) -> str:
    """
    Encode an `error` frame.
    """
    return _dumps(Error(code=str(code), message=message, ids=ids, field=field).to_wire())


__all__ = [
    "MAX_COORD",
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "Ack",
    "BoardMeta",
    "ClientCursor",
    "ClientOps",
    "ClientPing",
    "ClientPresence",
    "ClientResync",
    "CloseCode",
    "Cursors",
    "Error",
    "ErrorCode",
    "Hello",
    "OpsFrame",
    "Pong",
    "Presence",
    "PresenceDelta",
    "ProtocolError",
    "Snap",
    "Synced",
    "decode_binary",
    "decode_server_binary",
    "decode_server_text",
    "decode_text",
    "encode",
    "entry_seqs",
    "error_text",
    "ops_frame_from_entries",
    "split_ops_frame",
    "valid_client_id",
]
