"""
The messages of protocol v1/v2 (docs/protocol.md): close and error codes, one frozen dataclass per
message, and their encoding.

Pure: no Django, no channel layer, no I/O, and with realtime.wire.v1 and realtime.wire.compact the
project's only `json` users on the wire. Each message knows its map form (`to_wire`); `encode`
turns a text message into JSON and a binary one into msgpack. Decoding is per protocol version,
in a connection's codec (realtime.wire.codec).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

import msgpack

PROTOCOL_VERSION = 2
#: Versions a client may ask for with `?v=` (protocol §1); absent means 1.
SUPPORTED_VERSIONS = frozenset({1, 2})


class CloseCode(enum.IntEnum):
    #: The client is done, or the server closes for no error.
    NORMAL = 1000
    #: Transport: a frame that breaks RFC 6455 (realtime.server.hypercorn_patches sends it).
    PROTOCOL_VIOLATION = 1002
    #: Transport: a text frame (or a close reason) that is not UTF-8.
    INVALID_TEXT = 1007
    #: Transport limit exceeded (above 1 MiB).
    MESSAGE_TOO_BIG = 1009
    #: The server hit an unexpected error while opening the socket or handling one of its frames.
    INTERNAL_ERROR = 1011
    #: The process is draining for a restart: reconnect elsewhere and resync.
    SERVICE_RESTART = 1012
    #: Unsupported protocol version.
    PROTOCOL_ERROR = 4000
    #: No user and no other way in (or the account was deleted or deactivated while connected).
    UNAUTHENTICATED = 4001
    #: No role on the board (or it was taken away).
    FORBIDDEN = 4003
    #: No such board, or it was deleted.
    NOT_FOUND = 4004
    #: The user's role changed: reconnect to get the new one.
    ROLE_CHANGED = 4005
    #: The send queue overflowed: the client reads too slowly.
    TOO_SLOW = 4008
    #: Refused at admission: the user (or the board) holds as many sockets as the process allows.
    TOO_MANY_SOCKETS = 4009
    #: Another socket took this client id over (or holds it for another user): use a fresh id.
    CLIENT_REPLACED = 4010
    #: Sustained abuse after `rate_limited` errors.
    RATE_LIMITED = 4029


class ErrorCode(enum.StrEnum):
    #: Undecodable msgpack or JSON, or not a map/object.
    BAD_FRAME = "bad_frame"
    #: A known type with missing or wrongly typed fields.
    BAD_MESSAGE = "bad_message"
    #: Unknown `t` or `type`.
    UNKNOWN_TYPE = "unknown_type"
    #: Frame above max_frame_bytes, or too many ops in one frame.
    TOO_LARGE = "too_large"
    #: An op failed validation.
    INVALID_OP = "invalid_op"
    #: An op would take the board past a size bound (protocol §5): final like `invalid_op`.
    BOARD_FULL = "board_full"
    #: A viewer sent ops.
    READ_ONLY = "read_only"
    #: Over the client's op/byte budget.
    RATE_LIMITED = "rate_limited"
    #: The database refused the write.
    UNAVAILABLE = "unavailable"
    #: Another writer's op is stored under this (client_id, i): resend under a fresh id (§1).
    CLIENT_ID_TAKEN = "client_id_taken"


class ProtocolError(Exception):
    """
    The client sent something we refuse; answered with an `error` frame carrying `code`.
    """

    def __init__(self, code: ErrorCode, message: str, ids: list[int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ids = ids


# --- client → server ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientOps:
    """
    `{"t": "ops"}`: raw, not yet validated ops (each should carry `i` and `k`).
    """

    ops: list[Any]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "ops", "ops": list(self.ops)}


@dataclass(slots=True)
class ClientAppend:
    """
    An `app` op on the connection's current stroke, already typed by a compact frame's decoder
    (v2 `UP_APP`, `UP_NEXT`): `validate_app` checks it without the map an `ops` frame would give.

    Not frozen, unlike the other messages: one is made for nearly every frame of a drawing
    client, and a frozen dataclass sets each field through object.__setattr__ in __init__,
    several times the cost of a plain one. Nothing keeps it past the frame.
    """

    i: int
    id: str
    p: list[int]
    pr: list[int] | None = None

    def to_wire(self) -> dict[str, Any]:
        op: dict[str, Any] = {"i": self.i, "k": "app", "id": self.id, "p": list(self.p)}
        if self.pr is not None:
            op["pr"] = list(self.pr)
        return {"t": "ops", "ops": [op]}


@dataclass(frozen=True, slots=True)
class ClientCursor:
    """
    `{"t": "cur"}`: the sender's pointer, optionally with its viewport `[x, y, w, h]` and `l: 1`
    while its laser pointer is down.
    """

    x: int
    y: int
    vp: list[int] | None = None
    laser: bool = False

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"t": "cur", "x": self.x, "y": self.y}
        if self.vp is not None:
            wire["vp"] = list(self.vp)
        if self.laser:
            wire["l"] = 1
        return wire


@dataclass(frozen=True, slots=True)
class ClientResync:
    """
    `{"type": "resync", "from": seq}`: send everything after `from_seq`.
    """

    from_seq: int

    def to_wire(self) -> dict[str, Any]:
        return {"type": "resync", "from": self.from_seq}


@dataclass(frozen=True, slots=True)
class ClientPresence:
    """
    `{"type": "presence"}`: how this client is shown to others.
    """

    name: str
    color: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "presence", "name": self.name, "color": self.color}


@dataclass(frozen=True, slots=True)
class ClientPing:
    """
    `{"type": "ping", "t": scalar}`: answered by `pong` with the same `t`.
    """

    t: Any

    def to_wire(self) -> dict[str, Any]:
        return {"type": "ping", "t": self.t}


ClientBinary = ClientOps | ClientAppend | ClientCursor
ClientText = ClientResync | ClientPresence | ClientPing
ClientMessage = ClientBinary | ClientText


# --- server → client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """
    The first frame after accept (protocol §2.4).
    """

    client_id: str
    role: str
    user: dict[str, Any]
    board: dict[str, Any]
    head_seq: int
    limits: dict[str, Any]
    presence: list[dict[str, Any]]
    v: int = PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "v": self.v,
            "client_id": self.client_id,
            "role": self.role,
            "user": self.user,
            "board": self.board,
            "head_seq": self.head_seq,
            "limits": self.limits,
            "presence": self.presence,
        }


@dataclass(frozen=True, slots=True)
class Synced:
    """
    The catch-up is complete up to `seq`; live frames follow.
    """

    seq: int

    def to_wire(self) -> dict[str, Any]:
        return {"type": "synced", "seq": self.seq}


@dataclass(frozen=True, slots=True)
class Presence:
    """
    Everyone connected to the board, on every process.
    """

    clients: list[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "presence", "clients": self.clients}


@dataclass(frozen=True, slots=True)
class PresenceDelta:
    """
    What changed in the board's presence since the last `presence`/`presence_delta` frame: the
    entries to set (new or changed) and the client ids that left. Only to sockets that asked
    for deltas (`presence=delta`).
    """

    set: list[dict[str, Any]]
    gone: list[str]

    def to_wire(self) -> dict[str, Any]:
        return {"type": "presence_delta", "set": self.set, "gone": self.gone}


@dataclass(frozen=True, slots=True)
class BoardMeta:
    """
    `{"type": "board"}`: the title or link access changed.
    """

    title: str
    link_access: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "board", "title": self.title, "link_access": self.link_access}


@dataclass(frozen=True, slots=True)
class Error:
    """
    `{"type": "error"}`: the connection stays open; nothing was changed.
    """

    code: str
    message: str
    ids: list[int] | None = None
    field: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.ids is not None:
            wire["ids"] = list(self.ids)
        if self.field is not None:
            wire["field"] = self.field
        return wire


@dataclass(frozen=True, slots=True)
class Pong:
    """
    The answer to `ping`.
    """

    t: Any

    def to_wire(self) -> dict[str, Any]:
        return {"type": "pong", "t": self.t}


@dataclass(frozen=True, slots=True)
class OpsFrame:
    """
    `{"t": "ops"}` from the server: log entries contiguous in `s` (normally built by
    ops_frame_from_entries, never through this class on the hot path).
    """

    ops: list[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "ops", "ops": self.ops}


@dataclass(frozen=True, slots=True)
class Ack:
    """
    `{"t": "ack", "a": [[i, s], ...]}`: the sender's ops are durable.
    """

    a: list[tuple[int, int]] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {"t": "ack", "a": [[i, s] for i, s in self.a]}


@dataclass(frozen=True, slots=True)
class Snap:
    """
    `{"t": "snap"}`: the whole board at seq `s`.
    """

    s: int
    els: list[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "snap", "s": self.s, "els": self.els}


@dataclass(frozen=True, slots=True)
class Cursors:
    """
    `{"t": "cur", "c": [[client_id, x, y(, vp(, 1))], ...]}`: latest cursors of this tick; a
    laser cursor's row has a 5th element 1 (its 4th, the viewport, is then null when absent).
    """

    c: list[list[Any]]

    def to_wire(self) -> dict[str, Any]:
        return {"t": "cur", "c": self.c}


ServerText = Hello | Synced | Presence | PresenceDelta | BoardMeta | Error | Pong
ServerBinary = OpsFrame | Ack | Snap | Cursors
ServerMessage = ServerText | ServerBinary


# --- encoding ------------------------------------------------------------------------------------

#: Sent as JSON text frames; every other message is msgpack.
_TEXT_TYPES = ServerText | ClientText


def _dumps(wire: dict[str, Any]) -> str:
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(message: ServerMessage | ClientMessage) -> bytes | str:
    """
    Encode any message: text messages to a JSON str, binary ones to msgpack bytes.
    """
    wire = message.to_wire()
    if isinstance(message, _TEXT_TYPES):
        return _dumps(wire)
    return bytes(msgpack.packb(wire))


def error_text(
    code: ErrorCode, message: str, ids: list[int] | None = None, field: str | None = None
) -> str:
    """
    Encode an `error` frame.
    """
    return _dumps(Error(code=str(code), message=message, ids=ids, field=field).to_wire())
