"""
Structural validation of one op from an untrusted client (docs/protocol.md §3).

`validate_op` checks types (a bool is not an int, a float is not an int), ranges, finiteness,
id and colour formats, array lengths and unknown keys, and returns a normalised op: integral
floats in number fields become ints (what a JavaScript msgpack encoder sends for 4.0), colours are
lower-cased, a missing `fill` becomes null. It knows nothing of the board; `check_op` does that.

It runs for every op on the server's hot path, so it avoids per-field helper objects, builds error
paths only on failure, and checks point arrays with one tight loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from board.document.fields import ID_EXPECTED as _ID_EXPECTED
from board.document.fields import check_keys as _check_keys
from board.document.fields import element_id as _id
from board.document.fields import fail as _fail
from board.document.fields import int_in as _int
from board.document.fields import is_id as _is_id
from board.document.image import IMAGE_KEYS, image_fields
from board.document.limits import (
    COORD_MAX,
    DELTA_MAX,
    FRAME_NAME_MAX_CHARS,
    OP_ID_MAX,
    PRESSURE_MAX,
    TEXT_SIZE_MAX,
    TEXT_SIZE_MIN,
    TEXT_WRAP_MAX,
    Limits,
)
from board.document.structure import (
    BINDING_KEYS,
    COMMON_KEYS,
    optional_keys,
    validate_structure,
    validate_structure_set,
)
from board.document.styles import validate_style
from board.document.textlayout import ALIGNS, LABELLED_TYPES
from board.document.transform import (
    TRANSFORM_KEYS,
    transform_keys,
    validate_transform,
    validate_transform_set,
)
from board.text import NOT_SCALAR_TEXT, is_scalar_text

#: What XML 1.0 does not allow in text (SVG export) besides surrogates: C0 controls other than
#: tab, newline and carriage return, and the non-characters U+FFFE and U+FFFF.
_has_control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]").search

ELEMENT_TYPES = frozenset(
    {"stroke", "rect", "ellipse", "line", "arrow", "text", "diamond", "note", "frame", "image"}
)
#: Types drawn from a box (x, y, w, h) and nothing else required.
SHAPE_TYPES = frozenset({"rect", "ellipse", "line", "arrow", "diamond", "note"})
_COMMON = frozenset({"id", "type", "x", "y", "style"})
#: Required keys per element type; a stroke may also carry `pr`.
ELEMENT_KEYS: dict[str, frozenset[str]] = {
    "stroke": _COMMON | {"p"},
    "text": _COMMON | {"text", "size"},
    **{t: _COMMON | {"w", "h"} for t in SHAPE_TYPES},
    "frame": _COMMON | {"w", "h", "name"},
    "image": _COMMON | {"w", "h"} | IMAGE_KEYS,
}
#: Optional keys per element type (absent = the default; validation never adds them).
OPTIONAL_KEYS: dict[str, frozenset[str]] = {
    "stroke": frozenset({"pr"}),
    "text": frozenset({"align", "w"}),
    **{t: frozenset({"text", "size", "align"}) for t in LABELLED_TYPES},
}
UPD_KEYS = (
    frozenset({"style", "x", "y", "w", "h", "text", "size", "align", "name"})
    | COMMON_KEYS
    | BINDING_KEYS
    | TRANSFORM_KEYS
)
#: `upd` keys of this module whose value may be null: "remove the key" (optional keys only;
#: check_op refuses a null for a key the element's type requires).
NULLABLE_UPD_KEYS = ("w", "text", "size", "align")

#: (required, optional) keys per op kind, besides `i` and `k`.
_OP_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "add": (frozenset({"el"}), frozenset()),
    "app": (frozenset({"id", "p"}), frozenset({"pr"})),
    "upd": (frozenset({"id", "set"}), frozenset()),
    "mov": (frozenset({"ids", "dx", "dy"}), frozenset()),
    "del": (frozenset({"ids"}), frozenset()),
    "clr": (frozenset(), frozenset()),
    "rst": (frozenset({"from", "els"}), frozenset()),
    "ord": (frozenset({"ids", "after"}), frozenset()),
}
SERVER_KINDS = frozenset({"rst"})


def _ids(v: object, limits: Limits, path: str) -> list[str]:
    if type(v) is not list or not 1 <= len(v) <= limits.max_ids_per_op:
        _fail(path, f"expected an array of 1..{limits.max_ids_per_op} ids")
    for n, item in enumerate(v):
        if type(item) is not str or not _is_id(item):
            _fail(f"{path}[{n}]", _ID_EXPECTED)
    return v


def _points(v: object, max_points: int | None, path: str) -> list[int]:
    if type(v) is not list or len(v) & 1:
        _fail(path, "expected an integer array of even length")
    if max_points is not None and len(v) > 2 * max_points:
        _fail(path, f"more than {max_points} points")
    for d in v:
        if type(d) is not int or not -DELTA_MAX <= d <= DELTA_MAX:
            n = next(n for n, d in enumerate(v) if type(d) is not int or abs(d) > DELTA_MAX)
            _fail(f"{path}[{n}]", f"expected an integer delta in -{DELTA_MAX}..{DELTA_MAX}")
    return v


def _pressure(v: object, npoints: int, path: str) -> list[int]:
    if type(v) is not list or len(v) != npoints:
        _fail(path, f"expected an array of {npoints} pressures (one per point)")
    for q in v:
        if type(q) is not int or not 0 <= q <= PRESSURE_MAX:
            n = next(n for n, q in enumerate(v) if type(q) is not int or not 0 <= q <= PRESSURE_MAX)
            _fail(f"{path}[{n}]", f"expected an integer in 0..{PRESSURE_MAX}")
    return v


def _text(v: object, limits: Limits, path: str) -> str:
    if type(v) is not str or len(v) > limits.max_text_chars:
        _fail(path, f"expected a string of at most {limits.max_text_chars} chars")
    if not is_scalar_text(v):
        _fail(path, NOT_SCALAR_TEXT)
    if _has_control(v):
        _fail(path, "control characters and U+FFFE/U+FFFF are not allowed")
    return v


def _name(v: object, limits: Limits, path: str) -> str:
    if type(v) is not str or len(v) > FRAME_NAME_MAX_CHARS:
        _fail(path, f"expected a string of at most {FRAME_NAME_MAX_CHARS} chars")
    return _text(v, limits, path)


def validate_element(raw: object, limits: Limits, path: str) -> dict[str, Any]:
    """
    Validate one element (protocol §3.1) and return its normalised form.
    """
    if type(raw) is not dict:
        _fail(path, "expected a map")
    kind = raw.get("type")
    if type(kind) is not str or kind not in ELEMENT_TYPES:
        _fail(path + ".type", "expected one of " + ", ".join(sorted(ELEMENT_TYPES)))
    required = ELEMENT_KEYS[kind]
    allowed = required | optional_keys(kind) | OPTIONAL_KEYS.get(kind, frozenset())
    _check_keys(raw, required, allowed | transform_keys(kind), path)
    el: dict[str, Any] = {
        "id": _id(raw["id"], path + ".id"),
        "type": kind,
        "x": _int(raw["x"], -COORD_MAX, COORD_MAX, path + ".x"),
        "y": _int(raw["y"], -COORD_MAX, COORD_MAX, path + ".y"),
        "style": validate_style(raw["style"], partial=False, path=path + ".style"),
    }
    if kind == "stroke":
        # A whole stroke's points are a size bound, checked with the board's by check_op
        # (`board_full`, as for an `app` that would pass it), not here.
        el["p"] = _points(raw["p"], None, path + ".p")
        if "pr" in raw:
            el["pr"] = _pressure(raw["pr"], len(el["p"]) // 2, path + ".pr")
    elif kind == "text":
        el["text"] = _text(raw["text"], limits, path + ".text")
        el["size"] = _int(raw["size"], TEXT_SIZE_MIN, TEXT_SIZE_MAX, path + ".size")
        if "w" in raw:
            el["w"] = _int(raw["w"], 1, TEXT_WRAP_MAX, path + ".w")
    else:
        el["w"] = _int(raw["w"], -2 * COORD_MAX, 2 * COORD_MAX, path + ".w")
        el["h"] = _int(raw["h"], -2 * COORD_MAX, 2 * COORD_MAX, path + ".h")
        if kind in LABELLED_TYPES:
            if "text" in raw:
                el["text"] = _text(raw["text"], limits, path + ".text")
            if "size" in raw:
                el["size"] = _int(raw["size"], TEXT_SIZE_MIN, TEXT_SIZE_MAX, path + ".size")
        if kind == "frame":
            el["name"] = _name(raw["name"], limits, path + ".name")
    if "align" in raw:
        el["align"] = _align(raw["align"], path + ".align")
    el.update(validate_structure(raw, kind, path), **image_fields(raw, kind, path))
    el.update(validate_transform(raw, kind, path))
    return el


def _align(v: object, path: str) -> str:
    if type(v) is not str or v not in ALIGNS:
        _fail(path, "expected one of " + ", ".join(ALIGNS))
    return v


def _add(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    return {"el": validate_element(raw["el"], limits, where + ".el")}


def _app(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    out = {
        "id": _id(raw["id"], where + ".id"),
        "p": _points(raw["p"], limits.max_points_per_op, where + ".p"),
    }
    if not out["p"]:
        _fail(where + ".p", "expected at least one point")
    if "pr" in raw:
        out["pr"] = _pressure(raw["pr"], len(out["p"]) // 2, where + ".pr")
    return out


def _upd(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    path = where + ".set"
    changes = raw["set"]
    if type(changes) is not dict or not changes:
        _fail(path, "expected a non-empty map")
    _check_keys(changes, frozenset(), UPD_KEYS, path)
    out: dict[str, Any] = {}
    for key in NULLABLE_UPD_KEYS:
        if key in changes and changes[key] is None:
            out[key] = None
    for key in ("x", "y"):
        if key in changes:
            out[key] = _int(changes[key], -COORD_MAX, COORD_MAX, f"{path}.{key}")
    for key in ("w", "h"):
        if key in changes and key not in out:
            out[key] = _int(changes[key], -2 * COORD_MAX, 2 * COORD_MAX, f"{path}.{key}")
    if "style" in changes:
        out["style"] = validate_style(changes["style"], partial=True, path=path + ".style")
    if "text" in changes and "text" not in out:
        out["text"] = _text(changes["text"], limits, path + ".text")
    if "size" in changes and "size" not in out:
        out["size"] = _int(changes["size"], TEXT_SIZE_MIN, TEXT_SIZE_MAX, path + ".size")
    if "align" in changes and "align" not in out:
        out["align"] = _align(changes["align"], path + ".align")
    if "name" in changes:
        out["name"] = _name(changes["name"], limits, path + ".name")
    out.update(validate_structure_set(changes, path))
    out.update(validate_transform_set(changes, path))
    return {"id": _id(raw["id"], where + ".id"), "set": out}


def _mov(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    return {
        "ids": _ids(raw["ids"], limits, where + ".ids"),
        "dx": _int(raw["dx"], -DELTA_MAX, DELTA_MAX, where + ".dx"),
        "dy": _int(raw["dy"], -DELTA_MAX, DELTA_MAX, where + ".dy"),
    }


def _del(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    return {"ids": _ids(raw["ids"], limits, where + ".ids")}


def _clr(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    return {}


def _ord(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    after = raw["after"]
    return {
        "ids": _ids(raw["ids"], limits, where + ".ids"),
        "after": None if after is None else _id(after, where + ".after"),
    }


def _rst(raw: dict[str, Any], limits: Limits, where: str) -> dict[str, Any]:
    els = raw["els"]
    if type(els) is not list or len(els) > limits.max_elements:
        _fail(where + ".els", f"expected an array of at most {limits.max_elements} elements")
    out = [validate_element(el, limits, f"{where}.els[{n}]") for n, el in enumerate(els)]
    if len({el["id"] for el in out}) != len(out):
        _fail(where + ".els", "duplicate element id")
    return {"from": _int(raw["from"], 0, 2**63 - 1, where + ".from"), "els": out}


_VALIDATORS: dict[str, Callable[[dict[str, Any], Limits, str], dict[str, Any]]] = {
    "add": _add,
    "app": _app,
    "upd": _upd,
    "mov": _mov,
    "del": _del,
    "clr": _clr,
    "rst": _rst,
    "ord": _ord,
}
_ALLOWED_OP_KEYS = {k: req | opt | {"i", "k"} for k, (req, opt) in _OP_KEYS.items()}
_REQUIRED_OP_KEYS = {k: req | {"i", "k"} for k, (req, _opt) in _OP_KEYS.items()}


def validate_op(
    raw: object, limits: Limits, *, allow_server_kinds: bool = False, where: str = "op"
) -> dict[str, Any]:
    """
    Validate one untrusted op map and return it normalised, or raise OpRejected.

    `where` prefixes the field path in error messages (the consumer passes "ops[3]"), so a client
    reads e.g. "ops[3].el.style.color: expected #rrggbb"; the path is also in `extra["field"]`.
    `rst` is accepted only with `allow_server_kinds` (the snapshot-restore service).
    """
    if type(raw) is not dict:
        _fail(where, "expected a map")
    kind = raw.get("k")
    if type(kind) is not str or kind not in _VALIDATORS:
        _fail(where + ".k", "expected one of add, app, upd, mov, del, clr, ord")
    if kind in SERVER_KINDS and not allow_server_kinds:
        _fail(where + ".k", f"{kind!r} is issued by the server only")
    _check_keys(raw, _REQUIRED_OP_KEYS[kind], _ALLOWED_OP_KEYS[kind], where)
    op = {"i": _int(raw["i"], 1, OP_ID_MAX, where + ".i"), "k": kind}
    op.update(_VALIDATORS[kind](raw, limits, where))
    return op


def validate_app(
    i: int,
    element_id: object,
    p: list[int],
    pr: list[int] | None,
    limits: Limits,
    *,
    where: str = "op",
) -> dict[str, Any]:
    """
    Validate the parts of a compact frame's `app` op and return the op, as validate_op would.

    The compact decoder (realtime.wire.compact) already made `i`, `p` and `pr` integer lists of a
    whole number of points, so the common case is a range check at C speed; anything out of
    range goes through the general checks for their exact error.
    """
    if not 1 <= i <= OP_ID_MAX:
        _int(i, 1, OP_ID_MAX, where + ".i")
    op: dict[str, Any] = {"i": i, "k": "app", "id": _id(element_id, where + ".id"), "p": p}
    if not p or len(p) > 2 * limits.max_points_per_op or min(p) < -DELTA_MAX or max(p) > DELTA_MAX:
        op["p"] = _points(p, limits.max_points_per_op, where + ".p")
        if not p:
            _fail(where + ".p", "expected at least one point")
    if pr is not None:
        op["pr"] = _pressure(pr, len(p) // 2, where + ".pr")
    return op
