"""
The slice of Yjs and of Hocuspocus' framing the Hocuspocus adapter needs, written out by hand.

Why not pycrdt (Yjs in Rust, with Python bindings): a load generator must not keep a document
per simulated client (200 clients applying 120k updates/s would measure the generator), and the
bench only ever writes one kind of change and reads back who wrote which clocks. So this module
encodes exactly the updates a Yjs client produces for a stroke, and reads from a received update
only each client's clock ranges. tests/bench/test_peers.py checks both against the real `yjs`
package (the updates integrate, the document holds the strokes).

The document: a root map `strokes`, one nested map per stroke (key = element id) holding `x`,
`y`, `style` and a nested array `points` of flat integer deltas [dx0, dy0, dx1, dy1, ...]. An
`add` is one transaction creating the stroke map with its first point; an `app` pushes
`2 * points_per_op` integers onto `points`. In Yjs every inserted value takes one clock of its
client, so with a fixed points_per_op an op's clocks follow from its index: that is how a
receiver turns clock ranges back into (author, op id) without any byte added to the update.

Formats (lib0 encoding, Yjs update v1, y-protocols sync, Hocuspocus message framing):
unsigned varints are 7 bits per byte, least significant first; an update is
`#clients, then per client: #structs, client, first clock, structs; then the delete set`; a
Hocuspocus message is `varString(document name), varUint(type), payload`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

#: Hocuspocus message types (@hocuspocus/server types.ts) and y-protocols sync steps.
MSG_SYNC, MSG_AWARENESS, MSG_AUTH, MSG_QUERY_AWARENESS, MSG_SYNC_REPLY = 0, 1, 2, 3, 4
MSG_STATELESS, MSG_CLOSE, MSG_SYNC_STATUS = 5, 7, 8
SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE = 0, 1, 2
AUTH_TOKEN, AUTH_PERMISSION_DENIED, AUTH_AUTHENTICATED = 0, 1, 2

#: Yjs content refs (the low 5 bits of a struct's info byte) and type refs.
_GC, _DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC, _SKIP = range(11)
_YARRAY, _YMAP, _YXML_ELEMENT, _YXML_HOOK = 0, 1, 3, 5
_ORIGIN, _RIGHT_ORIGIN, _PARENT_SUB = 0x80, 0x40, 0x20

ROOT = "strokes"
#: Clocks of an `add`: the stroke map, x, y, style, the points array, and the first point's 2.
ADD_CLOCKS = 7
#: Yjs client ids are random uint32s; the bench's are this plus the client's slot, so a
#: receiver knows the author from the update alone.
CLIENT_BASE = 0x10000000


def client_of(slot: int) -> int:
    return CLIENT_BASE + slot


def slot_of(client: int) -> int:
    """
    The bench slot of a Yjs client id, or -1 for a client the bench did not create.
    """
    slot = client - CLIENT_BASE
    return slot if 0 <= slot < CLIENT_BASE else -1


# --- lib0 encoding -------------------------------------------------------------------------


def var_uint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def var_int(n: int) -> bytes:
    # lib0's signed varint: the first byte holds a continuation bit, the sign and 6 bits.
    neg = n < 0
    n = -n if neg else n
    out = bytearray([(0x80 if n > 0x3F else 0) | (0x40 if neg else 0) | (n & 0x3F)])
    n >>= 6
    while n > 0:
        out.append((0x80 if n > 0x7F else 0) | (n & 0x7F))
        n >>= 7
    return bytes(out)


def var_string(s: str) -> bytes:
    raw = s.encode()
    return var_uint(len(raw)) + raw


def var_bytes(b: bytes) -> bytes:
    return var_uint(len(b)) + b


def any_value(v: object) -> bytes:
    """
    lib0 `writeAny` for the values a stroke holds: None, bools, ints, strings, dicts.
    """
    if v is None:
        return b"\x7e"
    if v is True:
        return b"\x78"
    if v is False:
        return b"\x79"
    if isinstance(v, int) and -(2**31) < v < 2**31:
        return b"\x7d" + var_int(v)
    if isinstance(v, float | int):
        return b"\x7b" + struct.pack(">d", float(v))
    if isinstance(v, str):
        return b"\x77" + var_string(v)
    if isinstance(v, dict):
        return (
            b"\x76"
            + var_uint(len(v))
            + b"".join(var_string(k) + any_value(x) for k, x in v.items())
        )
    if isinstance(v, list):
        return b"\x75" + var_uint(len(v)) + b"".join(any_value(x) for x in v)
    raise TypeError(f"no lib0 encoding for {type(v).__name__}")


# --- the updates a stroke makes -----------------------------------------------------------


def _id(client: int, clock: int) -> bytes:
    return var_uint(client) + var_uint(clock)


def _update(client: int, clock: int, structs: list[bytes]) -> bytes:
    # One client's structs, then an empty delete set.
    return (
        b"\x01"
        + var_uint(len(structs))
        + var_uint(client)
        + var_uint(clock)
        + b"".join(structs)
        + b"\x00"
    )


def encode_add(
    client: int, clock: int, element: str, x: int, y: int, style: dict[str, object]
) -> bytes:
    """
    The update of one transaction that creates stroke `element` with its first point (0, 0):
    ADD_CLOCKS clocks from `clock`.
    """
    stroke = _id(client, clock)

    def entry(key: str, value: object) -> bytes:
        # A new key of the stroke map: no neighbours, so the parent and the key are written.
        return (
            bytes([_ANY | _PARENT_SUB])
            + b"\x00"
            + stroke
            + var_string(key)
            + b"\x01"
            + any_value(value)
        )

    structs = [
        bytes([_TYPE | _PARENT_SUB])
        + b"\x01"
        + var_string(ROOT)
        + var_string(element)
        + var_uint(_YMAP),
        entry("x", x),
        entry("y", y),
        entry("style", style),
        bytes([_TYPE | _PARENT_SUB]) + b"\x00" + stroke + var_string("points") + var_uint(_YARRAY),
        # The first push into the empty array: its parent is the array's item (clock + 4).
        bytes([_ANY]) + b"\x00" + _id(client, clock + 4) + b"\x02" + any_value(0) + any_value(0),
    ]
    return _update(client, clock, structs)


def encode_app(client: int, clock: int, deltas: list[int]) -> bytes:
    """
    The update that pushes `deltas` onto the current stroke's points: its left neighbour (the
    array's last value) is this client's previous clock, as for every append after the add.
    """
    body = b"".join(any_value(d) for d in deltas)
    struct_ = bytes([_ANY | _ORIGIN]) + _id(client, clock - 1) + var_uint(len(deltas)) + body
    return _update(client, clock, [struct_])


class StrokeClock:
    """
    Op ids <-> clocks of one author, whose strokes are an `add` then `apps` appends of `n`
    points each (bench.client numbers ops from 1, a stroke being 1 + apps ops).
    """

    def __init__(self, apps: int, points_per_op: int) -> None:
        self.apps = apps
        self.app_clocks = 2 * points_per_op
        self.stroke_clocks = ADD_CLOCKS + apps * self.app_clocks
        self.points_per_op = points_per_op

    def clock_of(self, op_id: int) -> int:
        stroke, k = divmod(op_id - 1, self.apps + 1)
        within = 0 if k == 0 else ADD_CLOCKS + (k - 1) * self.app_clocks
        return stroke * self.stroke_clocks + within

    def ops_in(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """
        (op id, points) of every op that starts in the clock range [start, end).
        """
        stroke, within = divmod(start, self.stroke_clocks)
        if within == 0:
            k = 0
        elif within <= ADD_CLOCKS:
            k = 1
        else:
            k = 1 + -(-(within - ADD_CLOCKS) // self.app_clocks)
        while True:
            if k > self.apps:
                stroke, k = stroke + 1, 0
            clock = stroke * self.stroke_clocks + (
                0 if k == 0 else ADD_CLOCKS + (k - 1) * self.app_clocks
            )
            if clock >= end:
                return
            yield stroke * (self.apps + 1) + k + 1, (1 if k == 0 else self.points_per_op)
            k += 1


# --- reading ---------------------------------------------------------------------------------


class Reader:
    """
    A cursor over lib0-encoded bytes.
    """

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def byte(self) -> int:
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uint(self) -> int:
        buf, pos = self.buf, self.pos
        b = buf[pos]
        if b < 0x80:
            self.pos = pos + 1
            return b
        n, shift = 0, 0
        while True:
            b = buf[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                return n
            shift += 7

    def int_(self) -> int:
        b = self.byte()
        n, neg, shift = b & 0x3F, b & 0x40, 6
        while b & 0x80:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
        return -n if neg else n

    def bytes_(self) -> bytes:
        n = self.uint()
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def string(self) -> str:
        return self.bytes_().decode()

    def skip_string(self) -> None:
        n = self.uint()  # not `self.pos += self.uint()`: that adds to the position read before
        self.pos += n

    def skip_any(self) -> None:
        tag = self.byte()
        if tag in (0x7F, 0x7E, 0x79, 0x78):  # undefined, null, false, true
            return
        if tag == 0x7D:
            self.int_()
        elif tag == 0x7C:
            self.pos += 4
        elif tag in (0x7B, 0x7A):
            self.pos += 8
        elif tag in (0x77, 0x74):  # string, Uint8Array
            self.skip_string()
        elif tag == 0x76:
            for _ in range(self.uint()):
                self.skip_string()
                self.skip_any()
        elif tag == 0x75:
            for _ in range(self.uint()):
                self.skip_any()
        else:
            raise ValueError(f"unknown lib0 any tag {tag}")


def client_ranges(update: bytes) -> list[tuple[int, int, int]]:
    """
    (client, first clock, end clock) of every client's run of structs in a v1 update (skips
    and GC excluded: they carry no content). A merged update has several clients.
    """
    r = Reader(update)
    out: list[tuple[int, int, int]] = []
    for _ in range(r.uint()):
        n_structs = r.uint()
        client = r.uint()
        clock = r.uint()
        start = None
        for _ in range(n_structs):
            info = r.byte()
            ref = info & 0x1F
            if ref in (_GC, _SKIP):
                length = r.uint()
                if start is not None:
                    out.append((client, start, clock))
                    start = None
                clock += length
                continue
            if info & _ORIGIN:
                r.uint()
                r.uint()
            if info & _RIGHT_ORIGIN:
                r.uint()
                r.uint()
            if not info & (_ORIGIN | _RIGHT_ORIGIN):
                if r.uint() == 1:
                    r.skip_string()
                else:
                    r.uint()
                    r.uint()
                if info & _PARENT_SUB:
                    r.skip_string()
            if start is None:
                start = clock
            clock += _content_length(r, ref)
        if start is not None:
            out.append((client, start, clock))
    return out


def _content_length(r: Reader, ref: int) -> int:
    if ref == _ANY:
        n = r.uint()
        for _ in range(n):
            r.skip_any()
        return n
    if ref == _TYPE:
        if r.uint() in (_YXML_ELEMENT, _YXML_HOOK):
            r.skip_string()
        return 1
    if ref == _DELETED:
        return r.uint()
    if ref == _STRING:
        # Yjs counts a string's length in UTF-16 code units.
        return len(r.string().encode("utf-16-le")) // 2
    if ref == _JSON:
        n = r.uint()
        for _ in range(n):
            r.skip_string()
        return n
    if ref in (_BINARY, _EMBED):
        r.skip_string()
        return 1
    if ref == _FORMAT:
        r.skip_string()
        r.skip_string()
        return 1
    if ref == _DOC:
        r.skip_string()
        r.skip_any()
        return 1
    raise ValueError(f"unknown Yjs content ref {ref}")


# --- Hocuspocus messages ------------------------------------------------------------------


def msg_auth(doc: str, token: str = "") -> bytes:
    return var_string(doc) + var_uint(MSG_AUTH) + var_uint(AUTH_TOKEN) + var_string(token)


def msg_sync_step1(doc: str, state_vector: bytes = b"\x00") -> bytes:
    return var_string(doc) + var_uint(MSG_SYNC) + var_uint(SYNC_STEP1) + var_bytes(state_vector)


def msg_sync_step2(doc: str, update: bytes) -> bytes:
    return var_string(doc) + var_uint(MSG_SYNC) + var_uint(SYNC_STEP2) + var_bytes(update)


def msg_update(doc: str, update: bytes) -> bytes:
    return var_string(doc) + var_uint(MSG_SYNC) + var_uint(SYNC_UPDATE) + var_bytes(update)


def msg_awareness(doc: str, client: int, clock: int, state: str = "{}") -> bytes:
    # y-protocols awareness update: #entries, then (client, clock, JSON state) each.
    body = b"\x01" + var_uint(client) + var_uint(clock) + var_string(state)
    return var_string(doc) + var_uint(MSG_AWARENESS) + var_bytes(body)


#: The empty update: no structs, no deletions (what an empty document answers a SyncStep1 with).
EMPTY_UPDATE = b"\x00\x00"
