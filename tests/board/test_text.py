"""
board.text: what counts as Unicode text (no lone surrogate), and where decoded JSON breaks it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from board.text import is_scalar_text, non_scalar_path


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("", True),
        ("alice", True),
        ("Zoë 日本 \U0001f58a", True),
        ("\ud83d\udd8a", False),  # a pair as two code points is still two lone surrogates in a str
        ("\ud800", False),
        ("a\udfffb", False),
        ("caf\udce9", False),  # what surrogateescape makes of b"caf\xe9"
        ("\ue000\uffff", True),  # just past the surrogates, and the last BMP code point
    ],
)
def test_is_scalar_text(text: str, ok: bool) -> None:
    assert is_scalar_text(text) is ok


@given(st.text())
def test_is_scalar_text_agrees_with_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert not is_scalar_text(text)
    else:
        assert is_scalar_text(text)


@pytest.mark.parametrize(
    ("json_text", "path"),
    [
        ('{"a": "x", "b": [1, 2.5, null, true, {"c": "y"}]}', None),
        ('"\\ud83d\\udd8a"', None),  # a pair, decoded to one character
        ('"\\ud800"', ""),
        ('{"name": "\\ud800"}', "name"),
        ('{"a": [0, {"b": "\\udfff"}]}', "a[1].b"),
        ('{"\\ud800": 1}', ""),
        ('{"a": {"\\ud800": 1}}', "a"),
        ('[1, "\\ud800"]', "[1]"),
        ('{"a": "\\ud800", "b": "\\ud800"}', "a"),  # the first in document order
        ('[["\\ud800"], "\\ud800"]', "[0][0]"),
        ('{"' + "k" * 50 + '": "\\ud800"}', "k" * 37 + "..."),  # long keys are cut
    ],
)
def test_non_scalar_path_names_the_first_bad_string(json_text: str, path: str | None) -> None:
    assert non_scalar_path(json.loads(json_text)) == path


def test_non_scalar_path_survives_the_deepest_json() -> None:
    # As deep as json.loads goes; the walk is iterative, so no RecursionError.
    depth = 900
    value: Any = json.loads("[" * depth + '"\\ud800"' + "]" * depth)
    assert non_scalar_path(value) == "[0]" * depth


def test_is_scalar_text_is_cheap() -> None:
    # CPU time, loose bound (measured ~0.03 us ASCII, ~0.1 us a short non-ASCII name).
    rounds = 100_000
    start = time.process_time()
    for _ in range(rounds):
        is_scalar_text("Zoë Bär")
    assert (time.process_time() - start) / rounds * 1e6 < 5
