"""
Structure fields of elements: groups (`grp`), lock (`lock`) and arrow bindings (`sb`, `eb`).

Validation of these optional keys (docs/protocol.md §3.1) and check_op's refusals of bindings
that do not fit the board. How the reducer resolves a binding is board.document.bindings.
None of these keys is ever added by validation: absent means ungrouped, unlocked, unbound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

from board.document.limits import ID_MAX_CHARS
from board.exceptions import OpRejected
from board.text import is_scalar_text

#: Element types whose start/end points may be bound.
LINKED_TYPES = frozenset({"line", "arrow"})
#: Element types an arrow may bind to (a box: left = min(x, x + w), width = |w|).
BINDABLE_TYPES = frozenset({"rect", "ellipse", "diamond", "note", "image", "frame"})
#: A binding's anchor, per mille of the target's width (fx) and height (fy).
ANCHOR_MAX = 1000
#: Groups an element may be nested in (`grp`: innermost first).
MAX_GROUP_DEPTH = 8
#: Keys every element type may carry.
COMMON_KEYS = frozenset({"grp", "lock"})
#: Keys only a line or an arrow may carry.
BINDING_KEYS = frozenset({"sb", "eb"})

_is_id = re.compile(rf"[A-Za-z0-9_-]{{1,{ID_MAX_CHARS}}}").fullmatch
_ID_EXPECTED = f"expected an id of 1..{ID_MAX_CHARS} chars [A-Za-z0-9_-]"
_BINDING_FIELDS = frozenset({"id", "fx", "fy"})


def _fail(path: str, message: str) -> NoReturn:
    raise OpRejected(f"{path}: {message}", extra={"field": path})


_LINKED_KEYS = COMMON_KEYS | BINDING_KEYS


def optional_keys(kind: str) -> frozenset[str]:
    """
    The structure keys an element of type `kind` may carry.
    """
    return _LINKED_KEYS if kind in LINKED_TYPES else COMMON_KEYS


def validate_binding(v: object, path: str) -> dict[str, Any]:
    if type(v) is not dict:
        _fail(path, "expected a map {id, fx, fy}")
    if not v.keys() <= _BINDING_FIELDS:
        extra = next(k for k in v if k not in _BINDING_FIELDS)
        name = extra if isinstance(extra, str) and is_scalar_text(extra) else repr(extra)
        _fail(f"{path}.{name[:40]}", "unknown field")
    for key in ("id", "fx", "fy"):
        if key not in v:
            _fail(f"{path}.{key}", "required")
    target = v["id"]
    if type(target) is not str or not _is_id(target):
        _fail(path + ".id", _ID_EXPECTED)
    out: dict[str, Any] = {"id": target}
    for key in ("fx", "fy"):
        n = v[key]
        if type(n) is float and n.is_integer():  # what a JavaScript encoder sends for 4.0
            n = int(n)
        if type(n) is not int or not 0 <= n <= ANCHOR_MAX:
            _fail(f"{path}.{key}", f"expected an integer in 0..{ANCHOR_MAX}")
        out[key] = n
    return out


def validate_groups(v: object, path: str) -> list[str]:
    if type(v) is not list or not v:
        _fail(path, f"expected an array of 1..{MAX_GROUP_DEPTH} group ids")
    if len(v) > MAX_GROUP_DEPTH:
        _fail(path, f"at most {MAX_GROUP_DEPTH} nested groups")
    for n, item in enumerate(v):
        if type(item) is not str or not _is_id(item):
            _fail(f"{path}[{n}]", _ID_EXPECTED)
    return v


def _validate_value(key: str, v: object, path: str) -> Any:
    if key == "grp":
        return validate_groups(v, path)
    if key == "lock":
        if type(v) is not bool:
            _fail(path, "expected true or false")
        return v
    return validate_binding(v, path)


def validate_structure(raw: Mapping[str, Any], kind: str, path: str) -> dict[str, Any]:
    """
    The normalised structure keys of element `raw` (its other keys are validate_element's).
    """
    return {
        key: _validate_value(key, raw[key], f"{path}.{key}")
        for key in optional_keys(kind)
        if key in raw
    }


def validate_structure_set(raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """
    The normalised structure keys of an `upd`'s `set`; null removes the key from the element.
    """
    return {
        key: None if raw[key] is None else _validate_value(key, raw[key], f"{path}.{key}")
        for key in _LINKED_KEYS
        if key in raw
    }


def check_bindings(
    elements: Mapping[str, Mapping[str, Any]], owner: str, fields: Mapping[str, Any], path: str
) -> None:
    """
    Refuse a binding (in `fields`: an added element or an `upd`'s set) of element `owner` to a
    missing element, to one that is not bindable, or to `owner` itself.
    """
    for key in ("sb", "eb"):
        binding = fields.get(key)
        if binding is None:
            continue
        target_id = binding["id"]
        where = f"{path}.{key}.id"
        if target_id == owner:
            _fail(where, "an arrow cannot bind to itself")
        target = elements.get(target_id)
        if target is None:
            _fail(where, f"no element {target_id!r} on this board")
        if target["type"] not in BINDABLE_TYPES:
            _fail(where, f"a {target['type']} cannot be bound to")
