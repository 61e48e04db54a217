"""
docs/protocol.md is normative: its tables of close codes, error codes, message types and limits
must name exactly what the code implements, so the page cannot drift from the codec.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgpack
import pytest

from board.document import Limits
from realtime.conf import DEFAULTS, hello_limits
from realtime.wire import protocol
from realtime.wire.messages import CloseCode, ErrorCode, ProtocolError

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def section(heading: str) -> str:
    """
    The text of the section whose heading starts with `heading`, up to the next heading.
    """
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#+ |\Z)", DOC, re.M | re.S)
    assert match, f"docs/protocol.md has no section {heading!r}"
    return match.group(1)


def first_column(text: str) -> list[str]:
    """
    The first cell of every table row below the header, backticks stripped.
    """
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [row.split("|")[1].strip().strip("`") for row in rows]


def test_close_codes_table_matches_close_code_enum() -> None:
    documented = {int(cell) for cell in first_column(section("7. Close codes"))}
    assert documented == {int(code) for code in CloseCode}


def test_error_codes_table_matches_error_code_enum() -> None:
    assert set(first_column(section("6. Errors"))) == {str(code) for code in ErrorCode}


def test_limits_table_matches_hello_limits() -> None:
    documented = set()
    for cell in first_column(section("5. Limits")):
        documented.update(key.strip().strip("`") for key in cell.split("/"))
    assert documented == set(hello_limits())


def test_documented_limit_defaults_and_variables_match_the_settings() -> None:
    defaults = hello_limits(DEFAULTS, Limits())
    rows = [line for line in section("5. Limits").splitlines() if line.startswith("|")][2:]
    for row in rows:
        keys, values, variables = row.split("|")[1:4]
        keys_ = [key.strip().strip("`") for key in keys.split("/")]
        for key, value in zip(keys_, values.split("/"), strict=True):
            assert float(value.strip()) == float(defaults[key]), key
        named = [v.strip().strip("`") for v in variables.split(",")]
        assert named == [f"INKROOM_{key.upper()}" for key in keys_], row


@pytest.mark.parametrize("kind", first_column(section("2.1 Client → server, binary")))
def test_documented_client_binary_types_are_known(kind: str) -> None:
    try:
        protocol.decode_binary(msgpack.packb({"t": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind


@pytest.mark.parametrize("kind", first_column(section("2.3 Client → server, text")))
def test_documented_client_text_types_are_known(kind: str) -> None:
    try:
        protocol.decode_text(json.dumps({"type": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind


def test_undocumented_client_types_are_unknown() -> None:
    with pytest.raises(ProtocolError) as binary:
        protocol.decode_binary(msgpack.packb({"t": "snap"}))
    with pytest.raises(ProtocolError) as text:
        protocol.decode_text('{"type": "hello"}')
    assert binary.value.code == text.value.code == ErrorCode.UNKNOWN_TYPE


def test_server_text_types_table_matches_the_decoder() -> None:
    documented = set(first_column(section("2.4 Server → client, text")))
    assert documented == protocol._SERVER_TEXT


@pytest.mark.parametrize("kind", first_column(section("2.2 Server → client, binary")))
def test_documented_server_binary_types_decode(kind: str) -> None:
    try:
        protocol.decode_server_binary(msgpack.packb({"t": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind
