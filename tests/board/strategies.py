"""
Hypothesis strategies for the document model: structurally valid ops and arbitrary junk.

Ids come from a small pool so that generated sequences collide: adds of existing ids, appends
to deleted strokes, updates of elements of the wrong type. Those are exactly the stale ops the
reducer must absorb.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ID_POOL = ["a", "b", "c", "d", "e-1", "F_2"]
ids = st.sampled_from(ID_POOL)
coords = st.integers(-2000, 2000)
#: A few image files: sha256 ids of no real file (the document model checks only the form).
asset_ids = st.sampled_from(["0" * 64, "ab" * 32, "0123456789abcdef" * 4])
small_deltas = st.integers(-40, 40)
#: Rotations and stroke scales, the edges of their ranges included.
rotations = st.sampled_from([0, 0.5, 15, 90, 180, 359.99])
scales = st.sampled_from([0.01, -0.01, 0.5, 1, -1, 2.25, 100, -100])
colors = st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
    | st.sampled_from("\n\t"),
    max_size=30,
)


#: An arrow end bound to any id of the pool (a box, something else, or nothing).
bindings = st.fixed_dictionaries(
    {"id": ids, "fx": st.sampled_from([0, 1, 500, 999, 1000]), "fy": st.integers(0, 1000)}
)
groups = st.lists(st.sampled_from(["g1", "g2", "g3"]), min_size=1, max_size=8)
aligns = st.sampled_from(["left", "center", "right"])
#: A text's wrap width (1..20000).
wraps = st.integers(1, 20_000)


def styles(*, partial: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "color": colors,
        "width": st.sampled_from([0.5, 1, 2, 4, 8.5, 256]),
        "opacity": st.sampled_from([0.05, 0.5, 1]),
        "fill": st.none() | colors,
    }
    enums = {
        "dash": st.sampled_from(["solid", "dash", "dot"]),
        "fs": st.sampled_from(["solid", "hatch", "cross"]),
        "font": st.sampled_from(["hand", "sans", "serif", "mono"]),
    }
    if partial:
        # null removes an enumerated key in an `upd`.
        optional = {**fields, **{k: st.none() | v for k, v in enums.items()}}
        return st.fixed_dictionaries({}, optional=optional).filter(bool)
    return st.fixed_dictionaries(fields, optional=enums)


@st.composite
def deltas_with_pressure(
    draw: st.DrawFn, min_points: int = 0, max_points: int = 12
) -> dict[str, Any]:
    n = draw(st.integers(min_points, max_points))
    out: dict[str, Any] = {"p": draw(st.lists(small_deltas, min_size=2 * n, max_size=2 * n))}
    if draw(st.booleans()):
        out["pr"] = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    return out


@st.composite
def elements(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "stroke",
                "rect",
                "ellipse",
                "line",
                "arrow",
                "text",
                "diamond",
                "note",
                "frame",
                "image",
            ]
        )
    )
    el: dict[str, Any] = {
        "id": draw(ids),
        "type": kind,
        "x": draw(coords),
        "y": draw(coords),
        "style": draw(styles()),
    }
    if kind == "stroke":
        el.update(draw(deltas_with_pressure()))
    elif kind == "text":
        el["text"] = draw(texts)
        el["size"] = draw(st.integers(4, 512))
        el.update(draw(st.fixed_dictionaries({}, optional={"align": aligns, "w": wraps})))
    else:
        el["w"] = draw(st.integers(-500, 500))
        el["h"] = draw(st.integers(-500, 500))
        if kind == "image":
            el["asset"] = draw(asset_ids)
        if kind in ("line", "arrow"):
            el.update(draw(st.fixed_dictionaries({}, optional={"sb": bindings, "eb": bindings})))
        if kind in ("rect", "ellipse", "diamond", "note"):  # a label
            label = {"text": texts, "size": st.integers(4, 512), "align": aligns}
            el.update(draw(st.fixed_dictionaries({}, optional=label)))
        if kind == "frame":
            el["name"] = draw(texts)
    el.update(draw(st.fixed_dictionaries({}, optional={"grp": groups, "lock": st.booleans()})))
    if draw(st.booleans()):
        el["rot"] = draw(rotations)
    if kind == "stroke" and draw(st.booleans()):
        el["sx"], el["sy"] = draw(scales), draw(scales)
    return el


def _updates() -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "style": styles(partial=True),
        "x": coords,
        "y": coords,
        "w": st.integers(-500, 500) | st.none(),
        "h": st.integers(-500, 500),
        "sb": st.none() | bindings,
        "eb": st.none() | bindings,
        "grp": st.none() | groups,
        "lock": st.none() | st.booleans(),
        "text": texts | st.none(),
        "size": st.integers(4, 512) | st.none(),
        "align": aligns | st.none(),
        "name": texts,
        "rot": st.none() | rotations,
        "sx": st.none() | scales,
        "sy": st.none() | scales,
    }
    return st.fixed_dictionaries({}, optional=fields).filter(bool)


def op_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """
    An op without `i`: every client kind, structurally valid, possibly stale for any board.
    """
    id_lists = st.lists(ids, min_size=1, max_size=4)
    return st.one_of(
        st.builds(lambda el: {"k": "add", "el": el}, elements()),
        st.builds(
            lambda el_id, pts: {"k": "app", "id": el_id, **pts},
            ids,
            deltas_with_pressure(min_points=1, max_points=8),
        ),
        st.builds(lambda el_id, s: {"k": "upd", "id": el_id, "set": s}, ids, _updates()),
        st.builds(
            lambda i, dx, dy: {"k": "mov", "ids": i, "dx": dx, "dy": dy}, id_lists, coords, coords
        ),
        st.builds(lambda i: {"k": "del", "ids": i}, id_lists),
        st.just({"k": "clr"}),
        st.builds(
            lambda i, after: {"k": "ord", "ids": i, "after": after}, id_lists, st.none() | ids
        ),
    )


@st.composite
def op_logs(draw: st.DrawFn, max_size: int = 30) -> list[dict[str, Any]]:
    """
    A sequenced log: ops with `i` and `s` = 1..n, as board.oplog stores them.
    """
    bodies = draw(st.lists(op_bodies(), max_size=max_size))
    return [
        {"i": n, "k": b["k"], **b, "s": n, "c": "client", "u": None}
        for n, b in enumerate(bodies, 1)
    ]


#: Anything msgpack or JSON can decode to, nested.
junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.binary(max_size=10),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=5)
    ),
    max_leaves=20,
)
