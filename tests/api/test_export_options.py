"""
The export endpoint's options: padding, background, scale, ids, frame, dark; 400 on bad values.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.support.elements import rect
from tests.support.factories import World
from tests.support.png import decode_png
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    # Throttle counts live in the default cache; other tests' exports must not spend ours.
    cache.clear()
    yield
    cache.clear()


def export(world: World, fmt: str, query: str = "") -> Any:
    return world.client("viewer").get(f"/api/v1/boards/{world.board.id}/export/{fmt}/?{query}")


def ids_of(svg: bytes) -> list[str]:
    return [
        g.attrib["data-id"] for g in ET.fromstring(svg).iter(f"{SVG}g") if "data-id" in g.attrib
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("padding=-1", "padding"),
        ("padding=513", "padding"),
        ("padding=x", "padding"),
        ("background=yes", "background"),
        ("scale=0.05", "scale"),
        ("scale=5", "scale"),
        ("scale=nan", "scale"),
        ("scale=inf", "scale"),
        ("ids=a,,b", "ids"),
        ("ids=a%20b", "ids"),
        ("frame=no%2Fslash", "frame"),
        ("dark=2", "dark"),
    ],
)
def test_a_bad_option_is_a_400_naming_its_field(world: World, query: str, field: str) -> None:
    answer = export(world, "png", query)
    assert answer.status_code == 400 and answer["Content-Type"] == "application/json"
    body = answer.json()
    assert body["code"] == "invalid" and list(body["errors"]) == [field]


def test_a_frame_that_is_not_a_frame_on_the_board_is_a_400(world: World) -> None:
    add_ops(world.board, [{"k": "add", "el": rect("box", x=300)}], client_id="writer")
    for frame in ("box", "missing"):
        answer = export(world, "svg", f"frame={frame}")
        assert answer.status_code == 400
        assert answer.json()["errors"] == {
            "frame": [f"No frame {frame!r} on the board at this seq."]
        }


def test_options_shape_the_export(world: World) -> None:
    add_ops(world.board, [{"k": "add", "el": rect("box", x=300)}], client_id="writer")
    full = export(world, "svg")
    assert (
        full.status_code == 200 and "box" in ids_of(full.content) and len(ids_of(full.content)) > 1
    )
    only = export(world, "svg", "ids=box&padding=0")
    assert ids_of(only.content) == ["box"]
    assert ET.fromstring(only.content).attrib["viewBox"] == "299 -1 42 32"
    json_only = export(world, "json", "ids=box")
    assert [el["id"] for el in json_only.json()["elements"]] == ["box"]
    w1, h1, _ = decode_png(export(world, "png", "ids=box&padding=0").content)
    w2, h2, _ = decode_png(export(world, "png", "ids=box&padding=0&scale=2").content)
    assert (w1, h1, w2, h2) == (42, 32, 84, 64)
    dark = export(world, "svg", "dark=1").content.decode()
    assert 'fill="#121212"' in dark and 'fill="#ffffff"' not in dark
    assert 'fill="#ffffff"' in full.content.decode()
    bare = ET.fromstring(export(world, "svg", "background=0").content)
    assert all(child.tag == f"{SVG}g" for child in bare)
