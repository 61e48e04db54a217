"""
The compact frames of protocol v2 (docs/protocol.md §2.5): freehand points at about one byte each.

Pure: bytes in, values out. This module holds what both directions share (frame and entry tags,
varints, strings, styles, points blocks) and the server's decoders of the client's compact frames;
the server's DOWN_OPS, DEFS and CONT frames are realtime.wire.handles, and the client's half
(encoding up, decoding down) is the reference client, tests/support/refclient.py.

A v1 `app` op spends ~12 bytes per point on the wire, almost all of
it envelope (map keys, the element id, the author's client id, the seq), and a stroke's `add`
~90 bytes. v2 sends the two ops of freehand drawing, stroke `add` and stroke append, as a few
varints plus packed points, and names authors, elements and styles by small per-connection
handles defined once. Everything else stays v1 msgpack.

Points are the v1 flat deltas [dx0, dy0, dx1, dy1, ...]. Each point is coded as its residual
from the previous delta (constant-velocity prediction, the first point against (0, 0)): a smooth
stroke's residuals are a few units, so a pair usually fits one byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: First byte of each compact frame. None is a msgpack map prefix (0x80-0x8f, 0xde, 0xdf), so a
#: binary frame's first byte tells a v1 frame from a compact one.
UP_APP = 0x01
DOWN_OPS = 0x02
DOWN_DEFS = 0x03
UP_ADD = 0x04
UP_NEXT = 0x05
DOWN_CONT = 0x06
#: Tentative delivery's compact frames (§2.6, `tentative=2`): checked ops before their commit,
#: and the promotion of the last DOWN_TENT's ops to log entries.
DOWN_TENT = 0x07
DOWN_PROMOTE = 0x08
#: Entry tags inside a DOWN_OPS frame.
ENTRY_V1 = 0
ENTRY_APP = 1
ENTRY_ADD = 2
ENTRY_NEXT = 3
#: A residual pair with both parts in [-PAIR_MAX, PAIR_MAX] is one byte below PAIR_CODES.
PAIR_MAX = 7
_PAIR_SPAN = 2 * PAIR_MAX + 1
PAIR_CODES = _PAIR_SPAN * _PAIR_SPAN
#: Escape byte: the residual pair follows as two zigzag varints.
ESCAPE = 0xFF
#: Residual pair of each one-byte code (a table lookup is the decoder's hot path).
_PAIRS = [(b // _PAIR_SPAN - PAIR_MAX, b % _PAIR_SPAN - PAIR_MAX) for b in range(PAIR_CODES)]
#: Varints longer than this are refused (2^63 > any legal value; stops pathological input).
_MAX_VARINT_BYTES = 9


class CompactError(ValueError):
    """
    Malformed compact frame.
    """


# --- varints ----------------------------------------------------------------------------------


def put_varint(out: bytearray, n: int) -> None:
    """
    Append `n` >= 0 as an unsigned LEB128 varint (7 bits per byte, low bits first).
    """
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def zigzag(n: int) -> int:
    """
    Map a signed int to an unsigned one, small magnitudes to small numbers (0, -1, 1, -2 → 0..3).
    """
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def unzigzag(z: int) -> int:
    return z >> 1 if not z & 1 else -((z + 1) >> 1)


class Reader:
    """
    A cursor over a compact frame; every read raises CompactError past the end.
    """

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        try:
            b = self.data[self.pos]
        except IndexError:
            raise CompactError("truncated frame") from None
        self.pos += 1
        return b

    def varint(self) -> int:
        data, pos = self.data, self.pos
        n = shift = 0
        for k in range(_MAX_VARINT_BYTES):
            try:
                b = data[pos + k]
            except IndexError:
                raise CompactError("truncated varint") from None
            n |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos + k + 1
                return n
            shift += 7
        raise CompactError("varint too long")

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CompactError("truncated frame")
        chunk = self.data[self.pos : end]
        self.pos = end
        return bytes(chunk)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def string(self) -> str:
        try:
            return self.take(self.varint()).decode()
        except UnicodeDecodeError:
            raise CompactError("a string is not UTF-8") from None

    def signed(self) -> int:
        return unzigzag(self.varint())


def put_string(out: bytearray, text: str) -> None:
    raw = text.encode()
    put_varint(out, len(raw))
    out += raw


def _no_constants(name: str) -> Any:
    raise CompactError(f"{name} is not JSON")


def style_name(style: Any) -> str:
    """
    A style map as the canonical JSON text that names its handle.
    """
    return json.dumps(style, sort_keys=True, separators=(",", ":"), allow_nan=False)


def parse_style(text: str) -> Any:
    """
    A style's JSON text back to its value (strict JSON: no NaN or Infinity).
    """
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise CompactError(f"style is not JSON: {exc}") from None


# --- points -----------------------------------------------------------------------------------


def put_points(out: bytearray, p: Sequence[int], pr: Sequence[int] | None) -> None:
    """
    Append the points block of `p` (and `pr`) to `out`: varint(n << 1 | has_pressure), n point
    codes, then n pressure codes.

    A point code is one byte (rx + 7) * 15 + (ry + 7) when both residuals are within ±7, else
    0xFF and zigzag varints of rx and ry. Pressure is coded as zigzag varints of its deltas (the
    first against 0). `p` must have an even length, `pr` (if any) half of it.
    """
    n = len(p) // 2
    put_varint(out, n << 1 | (pr is not None))
    put_codes(out, p)
    if pr is not None:
        prev = 0
        for v in pr:
            put_varint(out, zigzag(v - prev))
            prev = v


def put_codes(out: bytearray, p: Sequence[int]) -> None:
    """
    Append the point codes of the flat deltas `p` (even length) to `out`.
    """
    px = py = 0
    span, lo, hi = _PAIR_SPAN, -PAIR_MAX, PAIR_MAX
    for k in range(0, len(p) - 1, 2):
        dx, dy = p[k], p[k + 1]
        rx, ry = dx - px, dy - py
        px, py = dx, dy
        if lo <= rx <= hi and lo <= ry <= hi:
            out.append((rx + hi) * span + ry + hi)
        else:
            out.append(ESCAPE)
            put_varint(out, zigzag(rx))
            put_varint(out, zigzag(ry))


def read_points(r: Reader, max_points: int) -> tuple[list[int], list[int] | None]:
    """
    Decode a points block at the reader's position: (flat deltas, pressures or None).
    """
    head = r.varint()
    n, has_pr = head >> 1, head & 1
    if n == 0 or n > max_points:
        raise CompactError(f"a points block holds 1..{max_points} points, not {n}")
    p = read_codes(r, n)
    if not has_pr:
        return p, None
    pr: list[int] = []
    prev = 0
    for _ in range(n):
        prev += unzigzag(r.varint())
        pr.append(prev)
    return p, pr


def read_codes(r: Reader, n: int) -> list[int]:
    """
    Decode `n` point codes at the reader's position, or every code up to the end if `n` < 0.
    """
    p: list[int] = []
    append = p.append
    px = py = 0
    data, pos, end = r.data, r.pos, len(r.data)
    left = n if n >= 0 else end - pos  # at least one byte per code
    while left > 0:
        if pos >= end:
            if n < 0:
                break
            raise CompactError("truncated frame")
        b = data[pos]
        pos += 1
        if b < PAIR_CODES:
            rx, ry = _PAIRS[b]
        elif b == ESCAPE:
            r.pos = pos
            rx = unzigzag(r.varint())
            ry = unzigzag(r.varint())
            pos = r.pos
        else:
            raise CompactError(f"reserved point code {b}")
        px += rx
        py += ry
        append(px)
        append(py)
        left -= 1
    r.pos = pos
    return p


# --- client → server frames, decoded ------------------------------------------------------------


@dataclass(slots=True)
class UpApp:
    """
    A decoded UP_APP frame: an `app` op on the connection's current stroke.
    """

    i: int
    p: list[int]
    pr: list[int] | None


def decode_up_app(data: bytes, max_points: int) -> UpApp:
    """
    Decode an UP_APP frame (first byte already known to be 0x01). Raises CompactError.
    """
    # One frame per 30 Hz per drawing client: the common one-byte point header and one- or
    # two-byte op id are read inline, the rest through the Reader.
    size = len(data)
    i = data[1] if size > 1 else 0x80
    if i < 0x80:
        pos = 2
    elif size > 2 and data[2] < 0x80:
        i, pos = (i & 0x7F) | data[2] << 7, 3
    else:
        r = Reader(data, 1)
        i = r.varint()
        pos = r.pos
    r = Reader(data, pos)
    p, pr = read_points(r, max_points)
    if r.pos != size:
        raise CompactError("trailing bytes after the points")
    return UpApp(i, p, pr)


@dataclass(slots=True)
class UpNext:
    """
    A decoded UP_NEXT frame: an `app` op without pressure on the connection's current stroke,
    numbered one after the connection's last op.
    """

    p: list[int]


def decode_up_next(data: bytes, max_points: int) -> UpNext:
    """
    Decode an UP_NEXT frame (first byte already known to be 0x05). Raises CompactError.
    """
    p = read_codes(Reader(data, 1), -1)
    n = len(p) // 2
    if n == 0 or n > max_points:
        raise CompactError(f"an UP_NEXT frame holds 1..{max_points} points, not {n}")
    return UpNext(p)


@dataclass(slots=True)
class UpAdd:
    """
    A decoded UP_ADD frame: a stroke `add`; `style` None means the connection's previous one.
    """

    i: int
    id: str
    x: int
    y: int
    style: Any
    p: list[int]
    pr: list[int] | None


def decode_up_add(data: bytes, max_points: int) -> UpAdd:
    """
    Decode an UP_ADD frame (first byte already known to be 0x04). Raises CompactError.
    """
    r = Reader(data, 1)
    i = r.varint()
    element = r.string()
    x, y = r.signed(), r.signed()
    text = r.string()
    style = parse_style(text) if text else None
    p, pr = read_points(r, max_points)
    if not r.at_end():
        raise CompactError("trailing bytes after the points")
    return UpAdd(i, element, x, y, style, p, pr)


#: Author handle → (op id, element id) of the last stroke entry (tag 1, 2 or 3) with that author:
#: what a tag-3 entry continues. A handle's definition clears its own.
Conts = dict[int, tuple[int, str]]
