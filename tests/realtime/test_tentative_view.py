"""
The reference client's tentative layer (tests.support.tentative, protocol §2.6 client rules).
"""

from __future__ import annotations

from typing import Any

from tests.support.ops import STYLE
from tests.support.tentative import TentativeView

ME, OTHER = "me-client", "other-client"


def rect(i: int, el_id: str) -> dict[str, Any]:
    el = {"id": el_id, "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10, "style": dict(STYLE)}
    return {"i": i, "k": "add", "el": el}


def color(i: int, el_id: str, value: str) -> dict[str, Any]:
    return {"i": i, "k": "upd", "id": el_id, "set": {"style": {"color": value}}}


def entry(s: int, c: str, op: dict[str, Any]) -> dict[str, Any]:
    return {"s": s, "c": c, "u": None, **op}


def test_others_tentatives_sit_under_the_own_outbox_and_the_log_replaces_them() -> None:
    view = TentativeView(ME)
    view.on_entries([entry(1, OTHER, rect(1, "r"))])
    view.on_tentative([{"c": OTHER, **color(2, "r", "#ff0000")}])
    assert view.view().elements["r"]["style"]["color"] == "#ff0000"
    view.submit(color(1, "r", "#0000ff"))
    # Own ops go on top of what others are known to have done.
    assert view.view().elements["r"]["style"]["color"] == "#0000ff"
    # The log then orders ours first: the other's change wins, and its tentative is gone.
    view.on_entries(
        [entry(2, ME, color(1, "r", "#0000ff")), entry(3, OTHER, color(2, "r", "#ff0000"))]
    )
    assert view.tentatives == {} and view.outbox == {}
    assert view.view().elements["r"]["style"]["color"] == "#ff0000"


def test_own_ops_offered_as_tentatives_are_ignored() -> None:
    view = TentativeView(ME)
    view.submit(rect(1, "r"))
    view.on_tentative([{"c": ME, **rect(1, "r")}, {"c": OTHER, **rect(1, "q")}])
    assert list(view.tentatives) == [(OTHER, 1)]
    assert list(view.view().elements) == ["q", "r"]


def test_a_reconnect_a_snap_or_a_drop_leave_no_tentative_in_the_view() -> None:
    view = TentativeView(ME)
    view.on_tentative([{"c": OTHER, **rect(1, "a")}, {"c": OTHER, **rect(2, "b")}])
    view.on_drop([(OTHER, 1)])
    assert list(view.view().elements) == ["b"]
    view.reset()
    assert view.view().elements == {}
    view.on_tentative([{"c": OTHER, **rect(3, "c")}])
    view.on_snap(5, [rect(9, "z")["el"]])
    assert list(view.view().elements) == ["z"] and view.applied == 5


def test_tentatives_are_applied_in_arrival_order() -> None:
    view = TentativeView(ME)
    view.on_entries([entry(1, OTHER, rect(1, "r"))])
    view.on_tentative([{"c": "third-client", **color(4, "r", "#00ff00")}])
    view.on_tentative([{"c": OTHER, **color(2, "r", "#ff0000")}])
    assert view.view().elements["r"]["style"]["color"] == "#ff0000"
