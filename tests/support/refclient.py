"""
The client direction of the wire (docs/protocol.md): a reference client for tests and the bench.

The server decodes what clients send and encodes what they receive (realtime.wire); this module
does the other half, as frontend/src/protocol.ts, compact.ts and wire.ts do in the browser: it
decodes the server's v1 frames into their dataclasses and its v2 DOWN_OPS, DEFS and CONT frames
into entries, and encodes v2's UP_APP, UP_NEXT and UP_ADD frames. Client messages of v1 are
encoded with realtime.wire.protocol.encode, like every message. The byte layouts v2 shares with
the server (varints, strings, points blocks, styles) are the server's, from realtime.wire.compact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgpack

from realtime.wire.compact import (
    DOWN_CONT,
    DOWN_DEFS,
    DOWN_OPS,
    DOWN_PROMOTE,
    DOWN_TENT,
    ENTRY_ADD,
    ENTRY_APP,
    ENTRY_NEXT,
    ENTRY_V1,
    UP_ADD,
    UP_APP,
    UP_NEXT,
    CompactError,
    Conts,
    Reader,
    parse_style,
    put_codes,
    put_points,
    put_string,
    put_varint,
    read_points,
    style_name,
    zigzag,
)
from realtime.wire.protocol import (
    Ack,
    BoardMeta,
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
from realtime.wire.tentative import Tentative, TentativeDrop

#: The `type` of each text frame a server sends (protocol §2.4).
SERVER_TEXT_TYPES = frozenset(
    {"hello", "synced", "presence", "presence_delta", "board", "error", "pong"}
)
#: First bytes of the server's compact frames.
DOWN_FRAMES = frozenset({DOWN_OPS, DOWN_DEFS, DOWN_CONT, DOWN_TENT, DOWN_PROMOTE})
#: An entry of a decoded DOWN_OPS frame: a v1 entry's msgpack bytes, or the v1 entry (a map) a
#: compact entry stands for.
Entry = bytes | dict[str, object]


# --- server → client, v1 ------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")  # the server sends strict JSON


def decode_server_text(text: str) -> ServerMessage:
    """
    Decode a server text frame into its dataclass (raises ProtocolError).
    """
    try:
        msg = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"undecodable JSON: {exc}") from None
    if not isinstance(msg, dict) or msg.get("type") not in SERVER_TEXT_TYPES:
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


def decode_server_binary(data: bytes) -> ServerMessage | Tentative | TentativeDrop:
    """
    Decode a server msgpack frame into its dataclass (raises ProtocolError).
    """
    try:
        msg = msgpack.unpackb(data)
    except Exception as exc:  # msgpack raises many types (ExtraData, ValueError, StackError...)
        raise ProtocolError(ErrorCode.BAD_FRAME, f"undecodable msgpack: {exc}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a binary frame must be a msgpack map")
    kind = msg.get("t")
    try:
        match kind:
            case "ops":
                return OpsFrame(ops=msg["ops"])
            case "ack":
                return Ack(a=[(int(i), int(s)) for i, s in msg["a"]])
            case "snap":
                return Snap(s=msg["s"], els=msg["els"])
            case "cur":
                return Cursors(c=msg["c"])
            case "tent":
                return Tentative(ops=[dict(op) for op in msg["ops"]])
            case "tdrop":
                return TentativeDrop(ops=[(str(c), int(i)) for c, i in msg["ops"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
    if kind is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing 't'")
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown t: {str(kind)[:40]!r}")


def entry_seqs(frame: bytes) -> tuple[int, int]:
    """
    Return (first_seq, last_seq) of an `ops` frame.
    """
    ops = msgpack.unpackb(frame)["ops"]
    return int(ops[0]["s"]), int(ops[-1]["s"])


# --- client → server, v2 --------------------------------------------------------------------------


def pack_points(p: Sequence[int], pr: Sequence[int] | None = None) -> bytes:
    """
    A points block on its own (see realtime.wire.compact.put_points).
    """
    out = bytearray()
    put_points(out, p, pr)
    return bytes(out)


def encode_up_app(i: int, p: Sequence[int], pr: Sequence[int] | None = None) -> bytes:
    """
    UP_APP frame: 0x01, varint(i), points block.
    """
    out = bytearray((UP_APP,))
    put_varint(out, i)
    put_points(out, p, pr)
    return bytes(out)


def encode_up_next(p: Sequence[int]) -> bytes:
    """
    UP_NEXT frame: 0x05, then the point codes to the end of the frame (no count, no op id).
    """
    out = bytearray((UP_NEXT,))
    put_codes(out, p)
    return bytes(out)


def encode_up_add(
    i: int,
    element: str,
    x: int,
    y: int,
    style: Any,
    p: Sequence[int],
    pr: Sequence[int] | None = None,
) -> bytes:
    """
    UP_ADD frame: 0x04, varint(i), string(id), zigzag x and y, string(style JSON or ""), points.
    `style` None sends "" (the connection's previous style).
    """
    out = bytearray((UP_ADD,))
    put_varint(out, i)
    put_string(out, element)
    put_varint(out, zigzag(x))
    put_varint(out, zigzag(y))
    put_string(out, "" if style is None else style_name(style))
    put_points(out, p, pr)
    return bytes(out)


# --- server → client, v2 ---------------------------------------------------------------------


def _read_defs(r: Reader, names: dict[int, str], conts: Conts | None = None) -> None:
    for _ in range(r.varint()):
        handle = r.varint()
        names[handle] = r.string()
        if conts is not None:
            conts.pop(handle, None)


def decode_defs(data: bytes, names: dict[int, str], conts: Conts | None = None) -> None:
    """
    Apply a DOWN_DEFS frame to `names` (handle → name), clearing redefined handles' `conts`.
    """
    r = Reader(data, 1)
    _read_defs(r, names, conts)
    if not r.at_end():
        raise CompactError("trailing bytes after the definitions")


def decode_cont(data: bytes, conts: Conts) -> None:
    """
    Apply a DOWN_CONT frame to `conts`.
    """
    r = Reader(data, 1)
    for _ in range(r.varint()):
        author, i = r.varint(), r.varint()
        conts[author] = (i, r.string())
    if not r.at_end():
        raise CompactError("trailing bytes after the continuations")


def decode_down_ops(
    data: bytes, names: dict[int, str], max_points: int = 1 << 16, conts: Conts | None = None
) -> tuple[int, list[Entry]]:
    """
    Decode a DOWN_OPS frame: (first seq, entries). A v1 entry stays msgpack bytes; a stroke
    append or add becomes the v1 entry it stands for (without `u`), its handles resolved
    through `names` (handle → name, updated by DOWN_DEFS frames and by this frame's inline
    definitions) and a tag-3 append through `conts` (kept up to date here; without it a tag-3
    entry is refused).
    """
    r = Reader(data, 1)
    first = r.varint()
    _read_defs(r, names, conts)
    entries = [_read_entry(r, names, conts, max_points, first + k) for k in range(r.varint())]
    if not r.at_end():
        raise CompactError("trailing bytes after the entries")
    return first, entries


def decode_down_tent(
    data: bytes, names: dict[int, str], conts: Conts, max_points: int = 1 << 16
) -> list[dict[str, Any]]:
    """
    Decode a DOWN_TENT frame (§2.6, `tentative=2`) into its ops, each with `c` and without `s`
    (a tag-0 op also has `u`), through the connection's `names` and `conts`, which it updates
    as a DOWN_OPS frame does.
    """
    r = Reader(data, 1)
    _read_defs(r, names, conts)
    ops: list[dict[str, Any]] = []
    for _ in range(r.varint()):
        entry = _read_entry(r, names, conts, max_points, None)
        op = msgpack.unpackb(entry) if isinstance(entry, bytes) else entry
        if not isinstance(op, dict) or "s" in op or not isinstance(op.get("c"), str):
            raise CompactError("a tentative op is a map with `c` and without `s`")
        ops.append(op)
    if not r.at_end():
        raise CompactError("trailing bytes after the entries")
    return ops


def decode_promote(data: bytes) -> tuple[int, int]:
    """
    Decode a DOWN_PROMOTE frame: (first seq, count).
    """
    r = Reader(data, 1)
    first, n = r.varint(), r.varint()
    if not r.at_end():
        raise CompactError("trailing bytes after the count")
    return first, n


def _read_entry(
    r: Reader, names: dict[int, str], conts: Conts | None, max_points: int, seq: int | None
) -> Entry:
    """
    One entry of a DOWN_OPS (`seq`: its `s`) or DOWN_TENT (None: no `s`) frame.
    """
    tag = r.byte()
    head: dict[str, object] = {} if seq is None else {"s": seq}
    if tag == ENTRY_V1:
        return r.take(r.varint())
    if tag in (ENTRY_APP, ENTRY_NEXT):
        author = r.varint()
        if tag == ENTRY_APP:
            i, element = r.varint(), _name(names, r.varint())
        else:
            if conts is None or author not in conts:
                raise CompactError(f"no stroke entry to continue for handle {author}")
            i, element = conts[author]
            i += 1
        p, pr = read_points(r, max_points)
        entry: dict[str, object] = {
            **head,
            "c": _name(names, author),
            "i": i,
            "k": "app",
            "id": element,
            "p": p,
        }
        if pr is not None:
            entry["pr"] = pr
        if conts is not None:
            conts[author] = (i, element)
        return entry
    if tag == ENTRY_ADD:
        author, i, target = r.varint(), r.varint(), r.varint()
        x, y, style = r.signed(), r.signed(), r.varint()
        p, pr = read_points(r, max_points)
        el: dict[str, object] = {
            "id": _name(names, target),
            "type": "stroke",
            "x": x,
            "y": y,
            "style": parse_style(_name(names, style)),
            "p": p,
        }
        if pr is not None:
            el["pr"] = pr
        entry = {**head, "c": _name(names, author), "i": i, "k": "add", "el": el}
        if conts is not None:
            conts[author] = (i, str(el["id"]))
        return entry
    raise CompactError(f"unknown entry tag {tag}")


def _name(names: dict[int, str], handle: int) -> str:
    try:
        return names[handle]
    except KeyError:
        raise CompactError(f"undefined handle {handle}") from None


class RefSession:
    """
    One connection's view of the server's v2 frames, as frontend/src/wire.ts keeps it: the
    handle names (DEFS, DOWN_OPS and DOWN_TENT definitions), the authors' continuations (CONT,
    DOWN_OPS, DOWN_TENT) and, with `tentative=2`, the *batch*: the ops of the last DOWN_TENT,
    until a DOWN_PROMOTE makes them entries or a frame of entries, a `snap` or a `resync` the
    client sends ends it (`entries_came`). Per connection: a new socket starts a new session.
    """

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.conts: Conts = {}
        self.batch: list[dict[str, Any]] | None = None

    def decode(self, frame: bytes) -> list[Entry] | Tentative | None:
        """
        A DEFS or CONT frame feeds the session (None); a DOWN_OPS frame gives its entries, a
        DOWN_PROMOTE the batch's ops as entries (None when no batch is held: the client sent a
        `resync` since, whose catch-up brings them), a DOWN_TENT its ops as a Tentative.
        Raises CompactError (a malformed frame, or one that is not a v2 server frame, or a
        DOWN_PROMOTE whose count is not the batch's).
        """
        kind = frame[0] if frame else None
        if kind == DOWN_DEFS:
            decode_defs(frame, self.names, self.conts)
            return None
        if kind == DOWN_CONT:
            decode_cont(frame, self.conts)
            return None
        if kind == DOWN_OPS:
            self.batch = None
            return decode_down_ops(frame, self.names, conts=self.conts)[1]
        if kind == DOWN_TENT:
            ops = decode_down_tent(frame, self.names, self.conts)
            self.batch = ops
            return Tentative(ops=ops)
        if kind == DOWN_PROMOTE:
            first, n = decode_promote(frame)
            batch, self.batch = self.batch, None
            if batch is None:
                return None
            if n != len(batch):
                raise CompactError(f"DOWN_PROMOTE of {n} ops, the batch holds {len(batch)}")
            return [{**op, "s": first + k} for k, op in enumerate(batch)]
        raise CompactError(f"not a v2 server frame: first byte {kind}")

    def entries_came(self) -> None:
        """
        A v1 `ops` or `snap` frame arrived, or the client sent `resync`: the batch can no
        longer be promoted.
        """
        self.batch = None
