"""
Text in the document model (issue 16): a text's `align` and wrap width `w`, box-shape labels
(`text`, `size`, `align` on rect/ellipse/...), their validation with field paths, the text
budget counting labels, `upd` null removing an optional key, exact undo, the wrap rule and
what the SVG export draws from it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from board.document import BoardState, Limits, bbox, check_op, inverse_op, materialize
from board.document import validate_op as _validate
from board.document.reducer import apply
from board.document.textlayout import layout_lines, line_width, wrap_paragraph
from board.exceptions import BoardFull, OpRejected
from board.export.render import render_svg

STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
SVG = "{http://www.w3.org/2000/svg}"


def el(el_id: str, kind: str = "text", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": el_id, "type": kind, "x": 0, "y": 0, "style": dict(STYLE)}
    base.update({"text": "hi", "size": 20} if kind == "text" else {"w": 200, "h": 100})
    return {**base, **fields}


def validate(op: dict[str, Any]) -> dict[str, Any]:
    return _validate({"i": 1, **op}, Limits())


def board(*els: dict[str, Any]) -> BoardState:
    return materialize(None, [{"k": "add", "el": e} for e in els])


# --- validation --------------------------------------------------------------------------


def test_text_align_and_wrap_width_and_labels_validate() -> None:
    op = validate({"k": "add", "el": el("t", align="center", w=300)})
    assert op["el"]["align"] == "center" and op["el"]["w"] == 300
    op = validate({"k": "add", "el": el("r", "rect", text="Label", size=30, align="right")})
    assert (op["el"]["text"], op["el"]["size"], op["el"]["align"]) == ("Label", 30, "right")
    plain = validate({"k": "add", "el": el("e", "ellipse")})["el"]
    assert "text" not in plain and "align" not in plain  # validation never adds them


@pytest.mark.parametrize(
    ("element", "path", "message"),
    [
        (el("t", align="middle"), "op.el.align", "expected one of left, center, right"),
        (el("t", w=0), "op.el.w", "out of range 1..20000"),
        (el("t", w=20_001), "op.el.w", "out of range 1..20000"),
        (el("t", w=10.5), "op.el.w", "expected an integer"),
        (el("r", "rect", text="x" * 10_001), "op.el.text", "at most 10000 chars"),
        (el("r", "rect", text="a\x00b"), "op.el.text", "control characters"),
        (el("r", "rect", size=3), "op.el.size", "out of range 4..512"),
        (el("r", "ellipse", align=1), "op.el.align", "expected one of"),
        (el("l", "line", text="no"), "op.el.text", "unknown field"),
        (el("l", "arrow", align="left"), "op.el.align", "unknown field"),
    ],
)
def test_bad_text_fields_are_refused_with_their_path(
    element: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(OpRejected) as info:
        validate({"k": "add", "el": element})
    assert info.value.extra["field"] == path
    assert message in str(info.value)


def test_upd_accepts_null_only_for_optional_text_keys() -> None:
    op = validate({"k": "upd", "id": "t", "set": {"w": None, "align": None, "text": None}})
    assert op["set"] == {"w": None, "align": None, "text": None}
    with pytest.raises(OpRejected, match=r"op.set.x: expected an integer"):
        validate({"k": "upd", "id": "t", "set": {"x": None}})
    with pytest.raises(OpRejected, match=r"op.set.align: expected one of"):
        validate({"k": "upd", "id": "t", "set": {"align": "justify"}})


@pytest.mark.parametrize(
    ("target", "changes", "path", "message"),
    [
        ("t", {"text": None}, "op.set.text", "a text must have 'text'"),
        ("t", {"size": None}, "op.set.size", "a text must have 'size'"),
        ("t", {"w": 0}, "op.set.w", "out of range 1..20000"),
        ("t", {"w": 30_000}, "op.set.w", "out of range 1..20000"),
        ("l", {"text": "x"}, "op.set.text", "a line has no 'text'"),
        ("l", {"align": "left"}, "op.set.align", "a line has no 'align'"),
    ],
)
def test_check_op_refuses_what_the_element_cannot_take(
    target: str, changes: dict[str, Any], path: str, message: str
) -> None:
    state = board(el("t"), el("l", "line"))
    op = validate({"k": "upd", "id": target, "set": changes})
    with pytest.raises(OpRejected) as info:
        check_op(state, op, Limits())
    assert info.value.extra["field"] == path and message in str(info.value)


def test_labels_count_in_the_text_budget() -> None:
    limits = Limits(max_board_text_chars=10)
    state = board(el("t", text="abcd"), el("r", "rect", text="efg"))
    assert state.total_text_chars == 7
    check_op(state, validate({"k": "upd", "id": "r", "set": {"text": "efghij"}}), limits)
    with pytest.raises(BoardFull) as info:
        check_op(state, validate({"k": "upd", "id": "r", "set": {"text": "efghijk"}}), limits)
    assert info.value.extra["field"] == "op.set.text"
    with pytest.raises(BoardFull) as info:
        check_op(state, validate({"k": "add", "el": el("n", "ellipse", text="1234")}), limits)
    assert info.value.extra["field"] == "op.el.text"
    # Removing a label gives its characters back.
    after = apply(state, validate({"k": "upd", "id": "r", "set": {"text": None}}))
    assert after.total_text_chars == 4 and "text" not in after.elements["r"]


# --- undo --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "changes"),
    [
        (el("r", "rect"), {"text": "new label", "size": 30, "align": "left"}),
        (el("r", "rect", text="old", size=12), {"text": "new"}),
        (el("r", "rect", text="old", size=12), {"text": None, "size": None}),
        (el("t"), {"w": 140, "align": "right"}),
        (el("t", w=90, align="center"), {"w": None, "align": None, "text": "x\ny"}),
    ],
)
def test_undo_of_a_text_edit_restores_the_element_exactly(
    start: dict[str, Any], changes: dict[str, Any]
) -> None:
    state = board(start)
    op = validate({"k": "upd", "id": start["id"], "set": changes})
    undo = inverse_op(state, op)
    after = apply(state, op)
    assert after.elements != state.elements
    for n, inv in enumerate(undo, 2):
        after = apply(after, validate({**inv, "i": n}))
    assert after.elements == state.elements


def test_concurrent_edits_of_one_text_last_writer_wins() -> None:
    # Two clients edit the same text: whichever `upd` is sequenced last is the text everywhere,
    # and the first writer's undo (computed before) puts back the original.
    state = board(el("t", text="original"))
    mine = validate({"k": "upd", "id": "t", "set": {"text": "mine"}})
    undo_mine = inverse_op(state, mine)
    theirs = validate({"k": "upd", "id": "t", "set": {"text": "theirs"}})
    a = materialize(state, [theirs, mine])
    assert a.elements["t"]["text"] == "mine"
    b = materialize(state, [mine, theirs])
    assert b.elements["t"]["text"] == "theirs"
    assert materialize(a, [{"i": 9, **undo_mine[0]}]).elements["t"]["text"] == "original"


# --- layout and geometry -----------------------------------------------------------------


def test_wrap_breaks_at_spaces_and_cuts_a_word_too_long_for_the_line() -> None:
    size = 20
    one = line_width("aaaa", size, "sans")  # 4 x 0.54 em = 43.2
    assert wrap_paragraph("aaaa aaaa aaaa", size, 100, "sans") == ["aaaa aaaa", "aaaa"]
    assert wrap_paragraph("aaaa aaaa aaaa", size, int(one), "sans") == [
        "aaa",
        "a",
        "aaa",
        "a",
        "aaa",
        "a",
    ]
    assert wrap_paragraph("aaaa aaaa", size, int(one) + 1, "sans") == ["aaaa", "aaaa"]
    assert wrap_paragraph("", size, 50, "sans") == [""]
    assert wrap_paragraph("x", size, 1, "sans") == ["x"]  # at least one character a line
    assert layout_lines("ab\r\ncd\ref", size, None, "hand") == ["ab", "cd", "ef"]
    # The mono face is wider per character than the proportional ones for "i".
    assert line_width("iiii", 10, "mono") > line_width("iiii", 10, "serif")


def test_bbox_of_a_wrapped_text_is_its_wrap_width_by_its_lines() -> None:
    text = el("t", text="one two three four five six", size=20, w=100)
    lines = layout_lines(text["text"], 20, 100, "hand")
    assert len(lines) > 2
    assert bbox(text) == (0, 0, 100, len(lines) * 20 * 1.25)
    # A label taller than its shape widens the box vertically, centred.
    tall = el("r", "rect", h=20, text="\n".join("abcdef"), size=20)
    _x0, y0, _x1, y1 = bbox(tall)
    assert y0 < -1 and y1 > 21 and (y0 + y1) / 2 == pytest.approx(10)


def _texts(svg: str, el_id: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-id") == el_id)
    return list(group.iter(f"{SVG}text"))


def test_export_draws_the_wrapped_lines_aligned_in_the_font() -> None:
    text = el("t", text="the quick brown fox jumps over", size=20, w=120, align="center")
    text["style"]["font"] = "mono"
    label = el("r", "rect", x=300, text="inside the box", size=16, align="right")
    svg = render_svg(board(text, label))
    lines = _texts(svg, "t")
    assert [t.text for t in lines] == layout_lines(text["text"], 20, 120, "mono")
    assert {t.get("text-anchor") for t in lines} == {"middle"}
    assert {t.get("x") for t in lines} == {"60"}  # centre of the wrap width
    assert "monospace" in (lines[0].get("font-family") or "")
    (drawn,) = _texts(svg, "r")
    assert drawn.text == "inside the box" and drawn.get("text-anchor") == "end"
    assert float(drawn.get("x") or 0) == 300 + 100 + 92  # right edge of the label box
    assert 0 < float(drawn.get("y") or 0) < 100  # vertically inside the rect
    assert "cursive" in (drawn.get("font-family") or "")  # absent font = hand
