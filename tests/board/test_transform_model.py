"""
Rotation (`rot` on every element) and stroke scale (`sx`, `sy`) in the document model: their
validation with field paths, `upd` setting and removing them, undo back to the exact geometry,
bounding boxes, and the SVG export turning an element as the canvas does.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
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
from board.document.geometry import rotation_centre, unrotated_bbox
from board.document.points import drawn_points
from board.exceptions import OpRejected
from board.export.render import content_box, render_svg
from tests.support.elements import board, element, style

LIMITS = Limits()
STYLE = style(2)
_el = functools.partial(
    element, width=2, box=(100, 20), points=(0, 0, 10, 20), content=("hello", 20)
)
_board = board


def _rejected(raw: dict[str, Any]) -> str:
    with pytest.raises(OpRejected) as info:
        validate_op(raw, LIMITS)
    return info.value.message


@pytest.mark.parametrize("kind", ["stroke", "rect", "ellipse", "line", "arrow", "text"])
def test_every_element_type_may_carry_a_rotation(kind: str) -> None:
    op = {"i": 1, "k": "add", "el": _el("a", kind, rot=37.5)}
    assert validate_op(op, LIMITS) == op


@pytest.mark.parametrize(
    ("rot", "message"),
    [
        (360, "op.el.rot: expected a number in 0 <= rot < 360"),
        (-0.5, "op.el.rot: expected a finite number in 0..360"),
        (math.nan, "op.el.rot: expected a finite number"),
        (True, "op.el.rot: expected a number"),
        ("90", "op.el.rot: expected a number"),
    ],
)
def test_rotation_outside_one_turn_is_refused_with_its_path(rot: Any, message: str) -> None:
    assert message in _rejected({"i": 1, "k": "add", "el": _el("a", "rect", rot=rot)})


def test_stroke_scale_is_bounded_and_only_strokes_have_it() -> None:
    ok = {"i": 1, "k": "add", "el": _el("s", "stroke", sx=-0.01, sy=100)}
    assert validate_op(ok, LIMITS) == ok
    assert "op.el.sx: expected a number with 0.01 <= |s| <= 100" in _rejected(
        {"i": 1, "k": "add", "el": _el("s", "stroke", sx=0.001)}
    )
    assert "op.el.sy: expected a finite number in -100..100" in _rejected(
        {"i": 1, "k": "add", "el": _el("s", "stroke", sy=100.5)}
    )
    assert "op.el.sx: unknown field" in _rejected(
        {"i": 1, "k": "add", "el": _el("r", "rect", sx=2)}
    )
    upd = {"i": 1, "k": "upd", "id": "s", "set": {"sx": 0}}
    assert "op.set.sx: expected a number with 0.01" in _rejected(upd)


def test_upd_sets_and_null_removes_rotation_and_scale() -> None:
    state = _board(_el("s", "stroke"), _el("r", "rect", rot=10))
    turned = validate_op(
        {"i": 3, "k": "upd", "id": "s", "set": {"rot": 90.0, "sx": 2, "sy": -0.5}}, LIMITS
    )
    assert turned["set"] == {"rot": 90, "sx": 2, "sy": -0.5}  # 90.0 normalised to an int
    after = apply(state, turned)
    assert {k: after.elements["s"].get(k) for k in ("rot", "sx", "sy")} == {
        "rot": 90,
        "sx": 2,
        "sy": -0.5,
    }
    cleared = apply(
        after, validate_op({"i": 4, "k": "upd", "id": "r", "set": {"rot": None}}, LIMITS)
    )
    assert "rot" not in cleared.elements["r"]
    # A rect has no scale: check_op names the field, the reducer ignores it (stale op).
    with pytest.raises(OpRejected, match=r"op.set.sx: a rect has no 'sx'"):
        check_op(state, {"i": 5, "k": "upd", "id": "r", "set": {"sx": 2}}, LIMITS)
    assert (
        apply(state, {"i": 5, "k": "upd", "id": "r", "set": {"sx": 2}}).elements == state.elements
    )


def test_undo_of_a_transform_restores_the_exact_geometry_and_removes_new_keys() -> None:
    before = _board(_el("s", "stroke", x=5, y=7), _el("r", "rect", x=1, y=2, rot=15))
    ops = [
        {"k": "upd", "id": "s", "set": {"x": 9, "y": -3, "sx": 1.5, "sy": 3, "rot": 45}},
        {"k": "upd", "id": "r", "set": {"x": -4, "y": 8, "w": 7, "h": 300, "rot": 200.25}},
    ]
    for op in ops:
        after = apply(before, op)
        inverse = inverse_op(before, op)
        assert materialize(after, inverse).elements == before.elements
    assert inverse_op(before, ops[0]) == [
        {"k": "upd", "id": "s", "set": {"x": 5, "y": 7, "sx": None, "sy": None, "rot": None}}
    ]


def test_bbox_of_a_rotated_rect_encloses_its_turned_corners() -> None:
    rect = _el("r", "rect", x=0, y=0, w=100, h=20)
    assert unrotated_bbox(rect) == bbox(rect) == (-1, -1, 101, 21)
    turned = bbox({**rect, "rot": 90})
    assert turned == pytest.approx((39, -41, 61, 61))
    diagonal = bbox({**rect, "rot": 45})
    half = (51 + 11) / math.sqrt(2)
    assert diagonal == pytest.approx((50 - half, 10 - half, 50 + half, 10 + half))
    assert rotation_centre({**rect, "rot": 45}) == (50, 10)


def test_stroke_scale_applies_to_points_about_the_origin_before_rotation() -> None:
    stroke = _el("s", "stroke", x=10, y=10, p=[0, 0, 10, 20], sx=2, sy=-0.5)
    assert drawn_points(stroke) == [(10, 10), (30, 0)]
    assert bbox(stroke) == (9, -1, 31, 11)
    assert bbox({**stroke, "rot": 180}) == pytest.approx((9, -1, 31, 11))


def test_svg_turns_a_rotated_element_about_its_centre_and_draws_scaled_points() -> None:
    state = _board(
        _el("r", "rect", x=0, y=0, w=100, h=20, rot=90),
        _el("s", "stroke", x=200, y=0, p=[0, 0, 10, 20], sx=3),
    )
    svg = render_svg(state)
    root = ET.fromstring(svg)
    groups = {g.get("data-id"): g for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert groups["r"].get("transform") == "rotate(90 50 10)"
    assert groups["s"].get("transform") is None
    path = next(groups["s"].iter("{http://www.w3.org/2000/svg}path")).get("d")
    assert path is not None
    # The outline around (200, 0)..(230, 20), its points scaled 3x (unscaled it would end at 210).
    xs = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path)[0::2]]
    assert 228 <= max(xs) <= 233
    # The view box fits the turned rect (x 39..61, y -41..61) and the scaled stroke.
    x, y, w, h = content_box(state)
    assert (x, y) == (39 - 16, -41 - 16)
    assert x + w >= 231 and y + h >= 61
