"""
Transform fields of elements: rotation `rot` (any type) and a stroke's scale `sx`, `sy`.

Validation of these optional keys (docs/protocol.md §3.1; absent means 0 and 1, and validation
never adds them) for an element and for an `upd`, where null removes one. How they are drawn is
board.document.geometry (the box of a turned element) and board.document.points (scaled points).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.fields import fail as _fail
from board.document.fields import number_in as _number
from board.document.limits import ROT_END, SCALE_MAX, SCALE_MIN

#: Keys every element type may carry.
ROTATION_KEYS = frozenset({"rot"})
#: Keys only a stroke may carry.
SCALE_KEYS = frozenset({"sx", "sy"})
#: Every transform key, and those an `upd` may set to null (all: each is optional).
TRANSFORM_KEYS = ROTATION_KEYS | SCALE_KEYS


def _rot(v: object, path: str) -> int | float:
    # Half-open: 360 is 0, and one stored form per angle keeps replicas comparable.
    rot = _number(v, 0, ROT_END, path)
    if rot == ROT_END:
        _fail(path, f"expected a number in 0 <= rot < {ROT_END}")
    return rot


def _scale(v: object, path: str) -> int | float:
    scale = _number(v, -SCALE_MAX, SCALE_MAX, path)
    if abs(scale) < SCALE_MIN:
        _fail(path, f"expected a number with {SCALE_MIN} <= |s| <= {SCALE_MAX}")
    return scale


def transform_keys(kind: str) -> frozenset[str]:
    """
    The transform keys an element of type `kind` may carry.
    """
    return TRANSFORM_KEYS if kind == "stroke" else ROTATION_KEYS


def validate_transform(raw: Mapping[str, Any], kind: str, path: str) -> dict[str, Any]:
    """
    The normalised transform keys of element `raw` (unknown keys are validate_element's).
    """
    out: dict[str, Any] = {}
    if "rot" in raw:
        out["rot"] = _rot(raw["rot"], path + ".rot")
    if kind == "stroke":
        for key in ("sx", "sy"):
            if key in raw:
                out[key] = _scale(raw[key], f"{path}.{key}")
    return out


def validate_transform_set(changes: Mapping[str, Any], path: str) -> dict[str, Any]:
    """
    The normalised transform keys of an `upd`'s `set`: null removes the key (back to its
    default), what undo sends for one the element did not have.
    """
    out: dict[str, Any] = {}
    if "rot" in changes:
        rot = changes["rot"]
        out["rot"] = None if rot is None else _rot(rot, path + ".rot")
    for key in ("sx", "sy"):
        if key in changes:
            scale = changes[key]
            out[key] = None if scale is None else _scale(scale, f"{path}.{key}")
    return out
