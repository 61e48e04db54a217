"""
docs/protocol.md is normative: its tables of close codes, error codes, message types, limits,
rate-limit costs and the reducer's rules must name exactly what the code implements, so the page
cannot drift from the codec or the document model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgpack
import pytest

from board.document import COORD_MAX, Limits
from board.document.reducer import _REDUCERS, DEFAULT_PRESSURE, UPDATABLE
from realtime.conf import DEFAULTS, hello_limits
from realtime.engine.inbound import RESYNC_COST
from realtime.engine.ratelimit import STRIKE_WINDOW_SECS, STRIKES_TO_CLOSE
from realtime.wire import v1
from realtime.wire.protocol import CloseCode, ErrorCode, ProtocolError
from tests.support import refclient

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
        v1.decode_binary(msgpack.packb({"t": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind


@pytest.mark.parametrize("kind", first_column(section("2.3 Client → server, text")))
def test_documented_client_text_types_are_known(kind: str) -> None:
    try:
        v1.decode_text(json.dumps({"type": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind


def test_undocumented_client_types_are_unknown() -> None:
    with pytest.raises(ProtocolError) as binary:
        v1.decode_binary(msgpack.packb({"t": "snap"}))
    with pytest.raises(ProtocolError) as text:
        v1.decode_text('{"type": "hello"}')
    assert binary.value.code == text.value.code == ErrorCode.UNKNOWN_TYPE


def test_server_text_types_table_matches_the_decoder() -> None:
    documented = set(first_column(section("2.4 Server → client, text")))
    assert documented == refclient.SERVER_TEXT_TYPES


@pytest.mark.parametrize("kind", first_column(section("2.2 Server → client, binary")))
def test_documented_server_binary_types_decode(kind: str) -> None:
    try:
        refclient.decode_server_binary(msgpack.packb({"t": kind}))
    except ProtocolError as exc:
        assert exc.code != ErrorCode.UNKNOWN_TYPE, kind


def tables(text: str) -> dict[str, list[list[str]]]:
    """
    Every table of `text` by the first cell of its header: its body rows' cells, backticks
    stripped.
    """
    found: dict[str, list[list[str]]] = {}
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if len(lines) < 2:
            continue
        cells = [[c.strip().strip("`") for c in line.split("|")[1:-1]] for line in lines]
        found[cells[0][0]] = cells[2:]
    return found


def test_the_reducer_table_has_a_row_per_op_kind_with_the_reducers_constants() -> None:
    rows = {row[0]: row[1] for row in tables(section("3.3 Applying entries"))["k"]}
    assert set(rows) == set(_REDUCERS)
    assert f"pressure {DEFAULT_PRESSURE}" in rows["app"]
    assert f"±{COORD_MAX:,}" in rows["mov"]


def test_the_upd_table_matches_what_each_element_type_may_set() -> None:
    rows = tables(section("3.3 Applying entries"))["type"]
    documented = {row[0]: {cell.strip("` ") for cell in row[1].split(",")} for row in rows}
    assert documented == {kind: set(keys) for kind, keys in UPDATABLE.items()}


def test_the_rate_limit_costs_and_the_close_rule_match_the_code() -> None:
    text = section("5.1 Rate limits")
    [text_frame] = [row for row in tables(text)["frame"] if row[0].startswith("text frame")]
    assert f"(`resync`: {RESYNC_COST})" in text_frame[1]
    assert f"{STRIKES_TO_CLOSE} within {STRIKE_WINDOW_SECS:g} s close it with `4029`" in text
