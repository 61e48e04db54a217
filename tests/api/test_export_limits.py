"""
Exports over the API (issue 15 findings 1 and 7): the budget (422), the per-caller rate (429),
a render past the timeout (503), the cache, the board read as stored bytes at any seq, and a
stored character XML disallows that no longer breaks SVG or PNG.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from board.export import get_exporter
from board.export.budget import POINTS_PER_ELEMENT
from tests.support.elements import rect
from tests.support.factories import World
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    # Throttle counts live in the default cache; other tests' exports must not spend ours.
    cache.clear()
    yield
    cache.clear()


def inkroom(settings: Any, **values: Any) -> None:
    settings.INKROOM = {**settings.INKROOM, **values}


def url(world: World, suffix: str) -> str:
    return f"/api/v1/boards/{world.board.id}/{suffix}"


def text(el_id: str, body: str, size: int = 20, y: int = 100) -> dict[str, Any]:
    return {"id": el_id, "type": "text", "x": 0, "y": y, "size": size, "text": body, "style": STYLE}


def test_above_the_budget_an_export_is_a_422_naming_the_limit(world: World, settings: Any) -> None:
    add_ops(world.board, [{"k": "add", "el": text("t", "hello " * 10)}], client_id="writer")
    inkroom(settings, EXPORT_MAX_GLYPHS=59)
    client = world.client("owner")

    png = client.get(url(world, "export/png/"))
    assert png.status_code == 422 and png["Content-Type"] == "application/json"
    assert png.json() == {
        "message": "The board is too large to export as PNG: 60 glyphs (limit 59).",
        "code": "export_too_large",
        "extra": {
            "format": "png",
            "glyphs": 60,
            "points": 3 + 3 * POINTS_PER_ELEMENT,  # the world's 3-point stroke, a rect, the text
            "limit": {"glyphs": 59, "points": 1_000_000},
        },
    }
    # SVG copies text instead of drawing it, and JSON is the data: neither spends glyphs.
    assert client.get(url(world, "export/svg/")).status_code == 200
    inkroom(settings, EXPORT_MAX_POINTS=10)
    # (seq 2, not yet rendered: a body already cached is served whatever the budget says now)
    svg = client.get(url(world, "export/svg/?seq=2"))
    assert svg.status_code == 422 and svg.json()["extra"]["limit"] == {"points": 10}
    assert client.get(url(world, "export/json/?seq=2")).status_code == 200


def test_the_same_export_twice_renders_once(world: World) -> None:
    client = world.client("viewer")
    stats = get_exporter().stats
    before = stats.renders
    first = client.get(url(world, "export/png/"))
    second = world.client("anon_share").get(url(world, "export/png/"))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and stats.renders == before + 1
    add_ops(world.board, [{"k": "add", "el": rect("r2", x=50)}], client_id="writer")
    assert client.get(url(world, "export/png/")).content != first.content  # a new seq
    assert client.get(url(world, "export/png/?seq=2")).content == first.content  # cached
    assert stats.renders == before + 2


def test_exports_are_rate_limited_per_caller(world: World, settings: Any) -> None:
    inkroom(settings, EXPORT_RATE="2/min")
    owner = world.client("owner")
    assert [owner.get(url(world, f"export/{fmt}/")).status_code for fmt in ("svg", "json")] == [
        200,
        200,
    ]
    refused = owner.get(url(world, "export/png/"))
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    assert world.client("viewer").get(url(world, "export/svg/")).status_code == 200
    # Anonymous callers count by IP: link holders of any kind on one address share it.
    assert world.client("anon_share").get(url(world, "export/svg/")).status_code == 200
    assert world.client("anon_link").get(url(world, "export/svg/")).status_code == 200
    assert world.client("anon_share").get(url(world, "export/svg/")).status_code == 429
    # Other endpoints are not counted.
    assert owner.get(url(world, "state/")).status_code == 200


def test_a_stored_noncharacter_no_longer_breaks_svg_or_png(world: World) -> None:
    # Stored as a socket would have before input refused it: straight into the log.
    add_ops(
        world.board,
        [{"k": "add", "el": text("bad", "one\ufffe\uffff two\x0b")}],
        client_id="old-client",
    )
    client = world.client("anon_share")
    svg = client.get(url(world, "export/svg/"))
    assert svg.status_code == 200
    root = ET.fromstring(svg.content)
    assert ["".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text")] == [
        "one two"
    ]
    png = client.get(url(world, "export/png/"))
    assert png.status_code == 200 and png.content[:8] == PNG_MAGIC
    # JSON is the stored data, as stored (both characters are valid JSON).
    elements = client.get(url(world, "export/json/")).json()["elements"]
    assert elements[-1]["text"] == "one\ufffe\uffff two\x0b"


def test_a_render_past_the_timeout_is_a_503_and_the_next_export_works(
    world: World, settings: Any
) -> None:
    words = " ".join(f"word{k}" for k in range(2000))[:10_000]
    add_ops(
        world.board,
        [{"k": "add", "el": text(f"t{n}", words, size=512, y=n * 1024)} for n in range(8)],
        client_id="writer",
    )
    inkroom(settings, EXPORT_TIMEOUT_SECS=0.3)
    client = world.client("owner")
    slow = client.get(url(world, "export/png/"))
    assert slow.status_code == 503 and slow.json()["code"] == "export_timeout"
    assert "Retry-After" not in slow
    fast = client.get(url(world, "export/png/?seq=2"))
    assert fast.status_code == 200 and fast.content[:8] == PNG_MAGIC


def test_any_seq_exports_the_state_the_api_reads(world: World) -> None:
    # The world has a snapshot at seq 2; seq 1 replays from nothing, 4 adds a tail to it.
    add_ops(
        world.board,
        [{"k": "mov", "ids": ["r1"], "dx": 7, "dy": 0}, {"k": "del", "ids": ["s1"]}],
        client_id="writer",
    )
    client = world.client("owner")
    for seq in (0, 1, 2, 3, 4):
        state = client.get(url(world, f"state/?seq={seq}")).json()
        exported = client.get(url(world, f"export/json/?seq={seq}")).json()
        assert exported == {"version": 1, **state}


def test_without_workers_exports_render_in_the_request_thread(world: World, settings: Any) -> None:
    inkroom(settings, EXPORT_WORKERS=0)
    response = world.client("owner").get(url(world, "export/png/"))
    assert response.status_code == 200 and response.content[:8] == PNG_MAGIC
    assert type(get_exporter().pool).__name__ == "InlinePool"
