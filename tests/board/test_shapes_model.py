"""
The shapes and style keys of issue 16 in the document model: diamond, note and frame elements,
and the `dash`, `fs` and `font` style keys (validation, the reducer, undo, bounding boxes).
"""

from __future__ import annotations

from typing import Any

import pytest

from board.document import (
    Limits,
    apply,
    bbox,
    check_op,
    inverse_op,
    materialize,
    validate_op,
)
from board.document.geometry import FRAME_LABEL_GAP, FRAME_LABEL_SIZE, NOTE_SHADOW_OFFSET
from board.exceptions import OpRejected
from tests.support.elements import add, element, style

LIMITS = Limits()
STYLE = style(4)
shape = element


def rejected(op: dict[str, Any]) -> str:
    with pytest.raises(OpRejected) as info:
        validate_op(op, LIMITS)
    return str(info.value.extra["field"]) + " " + str(info.value)


@pytest.mark.parametrize("kind", ["diamond", "note", "frame"])
def test_new_types_validate_and_normalise(kind: str) -> None:
    el = shape("a", kind, style={**STYLE, "width": 4.0, "color": "#FFEC99"})
    op = validate_op(add(el), LIMITS)
    assert op["el"] == {**el, "style": {**STYLE, "color": "#ffec99"}}
    assert type(op["el"]["style"]["width"]) is int


def test_a_frame_needs_a_name_of_at_most_200_chars() -> None:
    no_name = shape("f", "frame")
    del no_name["name"]
    assert rejected(add(no_name)).startswith("op.el.name ")
    assert "at most 200" in rejected(add(shape("f", "frame", name="x" * 201)))
    assert rejected(add(shape("f", "frame", name=7))).startswith("op.el.name ")
    assert "control" in rejected(add(shape("f", "frame", name="a\x00")))
    assert validate_op(add(shape("f", "frame", name="")), LIMITS)["el"]["name"] == ""
    # Only a frame has a name.
    assert rejected(add(shape("r", "rect", name="x"))).startswith("op.el.name ")


def test_style_enums_are_checked_with_their_paths() -> None:
    style = {**STYLE, "dash": "dot", "fs": "cross", "font": "mono"}
    assert validate_op(add(shape("r", "rect", style=style)), LIMITS)["el"]["style"] == style
    # Absent keys stay absent: validation adds no default.
    assert "dash" not in validate_op(add(shape("r", "rect")), LIMITS)["el"]["style"]
    for key, bad in [("dash", "dashed"), ("fs", "zigzag"), ("font", "comic"), ("dash", 1)]:
        message = rejected(add(shape("r", "rect", style={**STYLE, key: bad})))
        assert message.startswith(f"op.el.style.{key} "), message
        assert "expected one of" in message
    # null is a removal, meaningful in an `upd` only.
    message = rejected(add(shape("r", "rect", style={**STYLE, "dash": None})))
    assert message.startswith("op.el.style.dash ")
    upd = {"i": 1, "k": "upd", "id": "r", "set": {"style": {"dash": None, "font": "serif"}}}
    assert validate_op(upd, LIMITS)["set"]["style"] == {"dash": None, "font": "serif"}
    bad_upd = {"i": 1, "k": "upd", "id": "r", "set": {"style": {"fs": "dots"}}}
    assert rejected(bad_upd).startswith("op.set.style.fs ")


def test_upd_sets_and_removes_style_keys_and_undo_restores_absence() -> None:
    before = materialize(None, [add(shape("r", "diamond", style={**STYLE, "fs": "hatch"}))])
    op = {"k": "upd", "id": "r", "set": {"style": {"dash": "dash", "fs": None, "fill": "#ffec99"}}}
    after = apply(before, op)
    assert after.elements["r"]["style"] == {**STYLE, "dash": "dash", "fill": "#ffec99"}
    undo = inverse_op(before, op)
    assert undo == [
        {"k": "upd", "id": "r", "set": {"style": {"dash": None, "fs": "hatch", "fill": None}}}
    ]
    assert materialize(after, undo).elements == before.elements


def test_a_frame_name_is_updatable_and_undoable_and_other_types_have_none() -> None:
    before = materialize(None, [add(shape("f", "frame")), add(shape("n", "note"), 2)])
    op = validate_op({"i": 3, "k": "upd", "id": "f", "set": {"name": "Sprint", "w": 300}}, LIMITS)
    check_op(before, op, LIMITS)
    after = apply(before, op)
    assert (after.elements["f"]["name"], after.elements["f"]["w"]) == ("Sprint", 300)
    assert materialize(after, inverse_op(before, op)).elements == before.elements
    note_name = validate_op({"i": 4, "k": "upd", "id": "n", "set": {"name": "x"}}, LIMITS)
    with pytest.raises(OpRejected, match=r"op\.set\.name: a note has no 'name'"):
        check_op(before, note_name, LIMITS)
    # The reducer skips it all the same (a stale op).
    assert apply(before, note_name).elements == before.elements


def test_bbox_of_the_new_shapes() -> None:
    assert bbox(shape("d", "diamond", x=10, y=20, w=-10, h=30)) == (-2, 18, 12, 52)
    # A note has no outline; its shadow reaches down and right.
    off = NOTE_SHADOW_OFFSET
    assert bbox(shape("n", "note", x=0, y=0, w=200, h=200)) == (0, 0, 200 + off, 200 + off)
    # A frame's name is above its top-left corner, and may be wider than the frame.
    top = -FRAME_LABEL_GAP - FRAME_LABEL_SIZE
    minx, miny, maxx, maxy = bbox(shape("f", "frame", w=10, h=10, name="A long frame name"))
    assert (minx, miny, maxy) == (-2, top, 12)
    assert maxx > 100
    assert bbox(shape("f", "frame", w=10, h=10, name="")) == (-2, -2, 12, 12)
