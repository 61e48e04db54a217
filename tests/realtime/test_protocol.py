"""
The wire codec (realtime.wire.protocol): round trips of every message in both directions, the golden
fixtures shared with the frontend, and every class of malformed input. Pure: no database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgpack
import pytest

from realtime.wire import frames, v1
from realtime.wire import protocol as p
from realtime.wire.protocol import ErrorCode, ProtocolError
from tests.support import refclient

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "protocol").glob("*.json"))
CLIENT_TYPES = (p.ClientOps, p.ClientCursor, p.ClientResync, p.ClientPresence, p.ClientPing)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def decode_any(message: Any, wire: bytes | str) -> Any:
    """
    Decode with the decoder for the message's direction and kind.
    """
    if isinstance(message, CLIENT_TYPES):
        return v1.decode_text(wire) if isinstance(wire, str) else v1.decode_binary(wire)
    if isinstance(wire, str):
        return refclient.decode_server_text(wire)
    return refclient.decode_server_binary(wire)


def from_fixture(fixture: dict[str, Any]) -> Any:
    """
    Build the dataclass of a fixture by decoding its JSON form sent the way the wire carries it.
    """
    message = fixture["message"]
    if fixture["kind"] == "text":
        wire: bytes | str = json.dumps(message)
    else:
        wire = msgpack.packb(message)
    if fixture["direction"] == "client_to_server":
        return v1.decode_text(wire) if fixture["kind"] == "text" else v1.decode_binary(wire)
    if fixture["kind"] == "text":
        return refclient.decode_server_text(wire)
    return refclient.decode_server_binary(wire)


def test_fixtures_cover_every_message_type():
    kinds = {type(from_fixture(load(path))) for path in FIXTURES}
    expected = set(CLIENT_TYPES) | {
        p.Hello,
        p.Synced,
        p.Presence,
        p.BoardMeta,
        p.Error,
        p.Pong,
        p.OpsFrame,
        p.Ack,
        p.Snap,
        p.Cursors,
    }
    assert kinds == expected


@pytest.mark.parametrize("path", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_fixture_round_trips(path: Path):
    fixture = load(path)
    assert set(fixture) == {"name", "direction", "kind", "message"}
    assert fixture["name"] == path.stem
    message = from_fixture(fixture)
    assert message.to_wire() == fixture["message"]
    wire = p.encode(message)
    assert isinstance(wire, str) == (fixture["kind"] == "text")
    assert decode_any(message, wire) == message


EXTRA_MESSAGES = [
    p.ClientOps(ops=[{"i": 1, "k": "clr"}]),
    p.ClientCursor(x=-10_000_000, y=10_000_000),
    p.ClientPing(t=None),
    p.ClientPing(t="abc"),
    p.ClientPing(t=1.5),
    p.ClientResync(from_seq=0),
    p.Error(code="rate_limited", message="slow down", ids=[]),
    p.Error(code="invalid_op", message="x", ids=[3], field="ops[0].el.id"),
    p.Snap(s=0, els=[]),
    p.Ack(a=[]),
    p.Pong(t=False),
]


@pytest.mark.parametrize("message", EXTRA_MESSAGES, ids=repr)
def test_round_trip(message: Any):
    assert decode_any(message, p.encode(message)) == message


@pytest.mark.parametrize("n", [0, 1, 15, 16, 300, 65_535, 65_536])
def test_ops_frame_by_concatenation_equals_encoding_the_map(n: int):
    entries = [{"s": k + 1, "c": "client01", "u": None, "i": k + 1, "k": "clr"} for k in range(n)]
    frame = frames.ops_frame_from_entries([msgpack.packb(e) for e in entries])
    assert frame == msgpack.packb({"t": "ops", "ops": entries})
    assert refclient.decode_server_binary(frame) == p.OpsFrame(ops=entries)


def test_split_and_seqs_of_an_ops_frame():
    entries = [msgpack.packb({"s": s, "k": "clr", "i": s}) for s in (5, 6, 7)]
    frame = frames.ops_frame_from_entries(entries)
    assert frames.split_ops_frame(frame) == entries
    assert refclient.entry_seqs(frame) == (5, 7)


BAD_BINARY = [
    (b"", ErrorCode.BAD_FRAME),
    (b"\xc1", ErrorCode.BAD_FRAME),  # never-used msgpack byte
    (b"\x92\x01", ErrorCode.BAD_FRAME),  # truncated array
    (msgpack.packb({"t": "ops", "ops": []}) + b"\x00", ErrorCode.BAD_FRAME),  # trailing data
    (msgpack.packb([1, 2]), ErrorCode.BAD_FRAME),
    (msgpack.packb("ops"), ErrorCode.BAD_FRAME),
    (msgpack.packb({1: "x"}), ErrorCode.BAD_FRAME),  # non-string map key
    (msgpack.packb(msgpack.ExtType(5, b"x")), ErrorCode.BAD_FRAME),
    (b"\xdd\xff\xff\xff\xff", ErrorCode.BAD_FRAME),  # claims 4G array
    (msgpack.packb({"ops": []}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "nope"}), ErrorCode.UNKNOWN_TYPE),
    (msgpack.packb({"t": 5}), ErrorCode.UNKNOWN_TYPE),
    (msgpack.packb({"t": "ops"}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "ops", "ops": []}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "ops", "ops": {"i": 1}}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "ops", "ops": [{"i": 1, "k": "clr"}] * 257}), ErrorCode.TOO_LARGE),
    (msgpack.packb({"t": "cur", "x": 1}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1.5, "y": 2}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": float("nan"), "y": 2}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": True, "y": 2}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 10**8, "y": 2}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "vp": [1, 2, 3]}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "vp": [1, 2, 3, "4"]}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "l": 2}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "l": True}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "l": "1"}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "l": 1.0}), ErrorCode.BAD_MESSAGE),
    (msgpack.packb({"t": "cur", "x": 1, "y": 2, "l": None}), ErrorCode.BAD_MESSAGE),
]


@pytest.mark.parametrize(
    ("frame", "cursor"),
    [
        ({"t": "cur", "x": 1, "y": 2}, p.ClientCursor(x=1, y=2)),
        ({"t": "cur", "x": 1, "y": 2, "l": 0}, p.ClientCursor(x=1, y=2)),
        ({"t": "cur", "x": 1, "y": 2, "l": 1}, p.ClientCursor(x=1, y=2, laser=True)),
        (
            {"t": "cur", "x": 1, "y": 2, "vp": [0, 0, 9, 9], "l": 1},
            p.ClientCursor(x=1, y=2, vp=[0, 0, 9, 9], laser=True),
        ),
    ],
    ids=repr,
)
def test_a_cursor_frame_reads_its_laser_flag(frame: dict[str, Any], cursor: p.ClientCursor):
    assert v1.decode_binary(msgpack.packb(frame)) == cursor


@pytest.mark.parametrize(("data", "code"), BAD_BINARY, ids=[repr(d[:24]) for d, _ in BAD_BINARY])
def test_malformed_binary_frames_are_refused_with_a_code(data: bytes, code: ErrorCode):
    with pytest.raises(ProtocolError) as info:
        v1.decode_binary(data)
    assert info.value.code == code


def test_too_many_ops_names_the_readable_ids():
    ops = [{"i": k, "k": "clr"} for k in range(1, 4)] + ["junk"]
    with pytest.raises(ProtocolError) as info:
        v1.decode_binary(msgpack.packb({"t": "ops", "ops": ops}), max_ops_per_frame=2)
    assert info.value.code == ErrorCode.TOO_LARGE
    assert info.value.ids == [1, 2, 3]


BAD_TEXT = [
    ("", ErrorCode.BAD_FRAME),
    ("{", ErrorCode.BAD_FRAME),
    ("[1]", ErrorCode.BAD_FRAME),
    ('"ping"', ErrorCode.BAD_FRAME),
    ("[" * 100_000, ErrorCode.BAD_FRAME),  # nesting bomb
    ('{"type": "ping", "t": NaN}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": Infinity}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": -Infinity}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": 1e999}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": [1]}', ErrorCode.BAD_MESSAGE),
    ('{"t": 1}', ErrorCode.BAD_MESSAGE),
    ('{"type": "hello"}', ErrorCode.UNKNOWN_TYPE),
    ('{"type": 7}', ErrorCode.UNKNOWN_TYPE),
    ('{"type": "resync"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "resync", "from": -1}', ErrorCode.BAD_MESSAGE),
    ('{"type": "resync", "from": 1.0}', ErrorCode.BAD_MESSAGE),
    ('{"type": "resync", "from": true}', ErrorCode.BAD_MESSAGE),
    ('{"type": "presence", "name": "a", "color": "red"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "presence", "name": 5, "color": "#ffffff"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "presence", "name": "' + "x" * 65 + '", "color": "#ffffff"}', ErrorCode.BAD_MESSAGE),
    # Lone surrogates: legal JSON escapes, not Unicode scalar values (issue 14).
    ('{"type": "presence", "name": "\\ud800", "color": "#000000"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "presence", "name": "a\\uDFFFb", "color": "#000000"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "presence", "name": "a", "color": "#00000\\ud800"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": "\\ud800"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": "\\udc00\\ud83d"}', ErrorCode.BAD_MESSAGE),  # a pair, reversed
    ('{"type": "resync", "from": 0, "x": ["\\ud800"]}', ErrorCode.BAD_MESSAGE),
    ('{"type": "resync", "from": 0, "\\ud800": 1}', ErrorCode.BAD_MESSAGE),
    ('{"type": "\\ud800"}', ErrorCode.BAD_MESSAGE),
    ('{"type": "ping", "t": "\ud800"}', ErrorCode.BAD_MESSAGE),  # raw, as a str can hold it
]


@pytest.mark.parametrize(("text", "code"), BAD_TEXT, ids=[t[:40] for t, _ in BAD_TEXT])
def test_malformed_text_frames_are_refused_with_a_code(text: str, code: ErrorCode):
    with pytest.raises(ProtocolError) as info:
        v1.decode_text(text)
    assert info.value.code == code
    # The message goes back in a UTF-8 text frame: it must never echo a lone surrogate.
    p.error_text(info.value.code, info.value.message).encode("utf-8")


def test_surrogate_pairs_are_one_character_and_accepted():
    # JSON spells characters beyond U+FFFF as a pair of escapes: that is valid text.
    msg = v1.decode_text('{"type": "presence", "name": "pen \\ud83d\\udd8a", "color": "#000000"}')
    assert msg == p.ClientPresence(name="pen \U0001f58a", color="#000000")
    assert v1.decode_text('{"type": "ping", "t": "\\ud83d\\udd8a"}') == p.ClientPing(t="\U0001f58a")


def test_lone_surrogate_errors_name_the_field():
    with pytest.raises(ProtocolError, match=r"^name: "):
        v1.decode_text('{"type": "presence", "name": "\\ud800", "color": "#000000"}')
    with pytest.raises(ProtocolError, match=r"^t: "):
        v1.decode_text('{"type": "ping", "t": "\\ud800"}')
    with pytest.raises(ProtocolError, match=r"^x\[1\]\.y: "):
        v1.decode_text('{"type": "resync", "from": 0, "x": [1, {"y": "\\ud800"}]}')


def _with_invalid_utf8(message: dict[str, Any]) -> bytes:
    # msgpack's packer refuses lone surrogates; splice the bytes a lax encoder would send for
    # U+D800 (ED A0 80, "CESU-8") into the str that holds the placeholder.
    return msgpack.packb(message).replace(b"@@@", b"\xed\xa0\x80")


@pytest.mark.parametrize(
    "data",
    [
        _with_invalid_utf8({"t": "ops", "ops": [{"i": 1, "k": "del", "ids": ["@@@"]}]}),
        _with_invalid_utf8({"t": "ops", "ops": [{"i": 1, "k": "clr", "@@@": 1}]}),
        _with_invalid_utf8({"t": "@@@"}),
        _with_invalid_utf8({"t": "cur", "x": 1, "y": 1, "z": "@@@"}),
    ],
)
def test_invalid_utf8_in_a_msgpack_str_is_a_bad_frame(data: bytes):
    # msgpack decodes str strictly (raw=False): the frame is undecodable, never a str holding a
    # surrogate.
    with pytest.raises(ProtocolError) as info:
        v1.decode_binary(data)
    assert info.value.code == ErrorCode.BAD_FRAME
    p.error_text(info.value.code, info.value.message).encode("utf-8")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("abcdefgh", True),
        ("a" * 64, True),
        ("a-b_c-d_", True),
        ("short", False),
        ("a" * 65, False),
        ("abc defgh", False),
        (12345678, False),
        (None, False),
    ],
)
def test_client_id_rule(value: object, ok: bool):
    assert v1.valid_client_id(value) is ok


def test_error_text_and_close_codes_match_the_protocol_document():
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    for code in p.CloseCode:
        assert f"| {int(code)} " in doc or code == p.CloseCode.INTERNAL_ERROR, code
    for err in ErrorCode:
        assert f"| `{err.value}` |" in doc, err
    text = p.error_text(ErrorCode.READ_ONLY, "viewers cannot draw", [1, 2])
    assert refclient.decode_server_text(text) == p.Error(
        code="read_only", message="viewers cannot draw", ids=[1, 2]
    )
