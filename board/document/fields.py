"""
The primitive checks of untrusted op fields: each returns the value or raises OpRejected with
the field's path (board.document.validate and board.document.styles build on them).

They run on the server's hot path: no helper objects, error paths built only on failure.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from board.document.limits import ID_MAX_CHARS
from board.exceptions import OpRejected
from board.text import is_scalar_text

is_id = re.compile(rf"[A-Za-z0-9_-]{{1,{ID_MAX_CHARS}}}").fullmatch
#: The message for a malformed id.
ID_EXPECTED = f"expected an id of 1..{ID_MAX_CHARS} chars [A-Za-z0-9_-]"
is_color = re.compile(r"#[0-9a-fA-F]{6}").fullmatch


def fail(path: str, message: str) -> NoReturn:
    raise OpRejected(f"{path}: {message}", extra={"field": path})


def _key_name(key: object) -> str:
    # A key that is not Unicode text (a JSON "\\ud800" in a compact frame's style) is shown
    # escaped, by repr, like a non-str key: the path goes back in a UTF-8 error frame.
    text = key if isinstance(key, str) and is_scalar_text(key) else repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def check_keys(
    raw: dict[Any, Any], required: frozenset[str], allowed: frozenset[str], where: str
) -> None:
    keys = raw.keys()
    if not keys <= allowed:
        extra = next(k for k in keys if k not in allowed)
        fail(f"{where}.{_key_name(extra)}", "unknown field")
    if not keys >= required:
        missing = min(required - keys)
        fail(f"{where}.{missing}", "required")


def int_in(v: object, lo: int, hi: int, path: str) -> int:
    if type(v) is not int:
        fail(path, "expected an integer")
    if not lo <= v <= hi:
        fail(path, f"out of range {lo}..{hi}")
    return v


def number_in(v: object, lo: float, hi: float, path: str) -> int | float:
    if type(v) is int:
        if lo <= v <= hi:
            return v
    elif type(v) is float:
        # NaN fails every comparison and infinities fail the range: both land below.
        if lo <= v <= hi:
            return int(v) if v.is_integer() else v
    else:
        fail(path, "expected a number")
    fail(path, f"expected a finite number in {lo}..{hi}")


def element_id(v: object, path: str) -> str:
    if type(v) is not str or not is_id(v):
        fail(path, ID_EXPECTED)
    return v


def color(v: object, path: str) -> str:
    if type(v) is not str or not is_color(v):
        fail(path, "expected #rrggbb")
    return v.lower()
