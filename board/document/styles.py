"""
Element styles: their keys, the enumerated ones (`dash`, `fs`, `font`), and their validation.

The enumerated keys are optional: validation never adds them, an absent key is the first
value, and in an `upd` a null removes the key (what undo sends for a key the element lacked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from board.document.fields import check_keys, color, fail, number_in
from board.document.limits import OPACITY_MAX, OPACITY_MIN, WIDTH_MAX, WIDTH_MIN

#: The enumerated style keys and their values; an absent key is the first value.
STYLE_ENUMS: dict[str, tuple[str, ...]] = {
    "dash": ("solid", "dash", "dot"),
    "fs": ("solid", "hatch", "cross"),
    "font": ("hand", "sans", "serif", "mono"),
}
STYLE_KEYS = frozenset({"color", "width", "opacity", "fill", *STYLE_ENUMS})


def validate_style_enums(raw: Mapping[str, Any], *, partial: bool, path: str) -> dict[str, Any]:
    """
    The enumerated keys of style map `raw`, checked; null is allowed only in a partial style.
    """
    out: dict[str, Any] = {}
    for key, values in STYLE_ENUMS.items():
        if key in raw:
            value = raw[key]
            if not (partial and value is None) and (type(value) is not str or value not in values):
                fail(f"{path}.{key}", "expected one of " + ", ".join(values))
            out[key] = value
    return out


#: The style keys an element need not carry (absent: fill none, dash/fs solid, font hand).
_STYLE_OPTIONAL = frozenset({"fill", *STYLE_ENUMS})
_STYLE_REQUIRED = STYLE_KEYS - _STYLE_OPTIONAL


def validate_style(raw: object, *, partial: bool, path: str) -> dict[str, Any]:
    """
    Validate an element style (all of color/width/opacity, or any non-empty subset if partial).

    `fill` becomes null when absent from a full style; the enumerated keys (`dash`, `fs`,
    `font`) stay absent when absent, so a style without them keeps its stored form.
    """
    if type(raw) is not dict:
        fail(path, "expected a map")
    check_keys(raw, frozenset() if partial else _STYLE_REQUIRED, STYLE_KEYS, path)
    if partial and not raw:
        fail(path, "expected at least one of " + ", ".join(sorted(STYLE_KEYS)))
    out: dict[str, Any] = {}
    if "color" in raw:
        out["color"] = color(raw["color"], path + ".color")
    if "width" in raw:
        out["width"] = number_in(raw["width"], WIDTH_MIN, WIDTH_MAX, path + ".width")
    if "opacity" in raw:
        out["opacity"] = number_in(raw["opacity"], OPACITY_MIN, OPACITY_MAX, path + ".opacity")
    if "fill" in raw or not partial:
        fill = raw.get("fill")
        out["fill"] = None if fill is None else color(fill, path + ".fill")
    out.update(validate_style_enums(raw, partial=partial, path=path))
    return out
