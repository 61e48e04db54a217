"""
Board content over the API: state at a seq, the op log (JSON and msgpack), and exports.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from tests.support.elements import rect, stroke
from tests.support.factories import World
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db


def url(world: World, suffix: str) -> str:
    return f"/api/v1/boards/{world.board.id}/{suffix}"


def test_state_at_head_and_at_a_past_seq(world: World) -> None:
    add_ops(world.board, [{"k": "del", "ids": ["s1"]}], client_id="eraser-client")
    client = world.client("anon_share")
    assert client.get(url(world, "state/")).json() == {"seq": 3, "elements": [rect("r1")]}
    assert client.get(url(world, "state/?seq=1")).json() == {"seq": 1, "elements": [stroke("s1")]}
    assert client.get(url(world, "state/?seq=0")).json() == {"seq": 0, "elements": []}
    packed = client.get(url(world, "state/?seq=2"), HTTP_ACCEPT="application/msgpack")
    assert packed["Content-Type"] == "application/msgpack"
    assert msgpack.unpackb(packed.content) == {"seq": 2, "elements": [stroke("s1"), rect("r1")]}


@pytest.mark.parametrize("seq", ["-1", "3", "abc", "1.5"])
def test_state_rejects_a_bad_seq(world: World, seq: str) -> None:
    response = world.client("owner").get(url(world, "state/"), {"seq": seq})
    assert response.status_code == 400 and "seq" in response.json()["errors"]


def test_ops_json_pages_through_the_log(world: World) -> None:
    add_ops(world.board, [{"k": "clr"}], client_id="clear-client")
    client = world.client("viewer")
    first = client.get(url(world, "ops/"), {"after": 0, "limit": 2}).json()
    assert [op["s"] for op in first["ops"]] == [1, 2]
    assert first["ops"][0] == {
        "i": 1,
        "k": "add",
        "el": stroke("s1"),
        "s": 1,
        "c": "test-client",
        "u": None,
    }
    assert first["next_after"] == 2 and first["head_seq"] == 3
    rest = client.get(url(world, "ops/"), {"after": first["next_after"]}).json()
    assert [op["k"] for op in rest["ops"]] == ["clr"] and rest["next_after"] == 3
    done = client.get(url(world, "ops/"), {"after": 3}).json()
    assert done == {"ops": [], "next_after": 3, "head_seq": 3}


def test_ops_msgpack_is_the_same_structure(world: World) -> None:
    client = world.client("anon_link")
    as_json = client.get(url(world, "ops/?after=1")).json()
    packed = client.get(url(world, "ops/?after=1"), HTTP_ACCEPT="application/msgpack")
    assert packed["Content-Type"] == "application/msgpack"
    assert msgpack.unpackb(packed.content) == as_json
    assert as_json["ops"][0]["el"] == rect("r1")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": -1}, "after"),
        ({"after": "x"}, "after"),
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
    ],
)
def test_ops_rejects_bad_paging(world: World, params: dict[str, Any], field: str) -> None:
    response = world.client("owner").get(url(world, "ops/"), params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_ops_default_limit_is_500(world: World) -> None:
    add_ops(
        world.board,
        [{"k": "mov", "ids": ["r1"], "dx": 1, "dy": 0} for _ in range(600)],
        client_id="mover-client",
    )
    body = world.client("owner").get(url(world, "ops/")).json()
    assert len(body["ops"]) == 500 and body["next_after"] == 500 and body["head_seq"] == 602


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("json", "application/json", b"{"),
    ],
)
def test_export_formats(world: World, fmt: str, content_type: str, magic: bytes) -> None:
    response = world.client("anon_share").get(url(world, f"export/{fmt}/"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"] == f'attachment; filename="team-sketch-2.{fmt}"'
    assert response.content.lstrip().startswith(magic) or magic in response.content[:200]


def test_export_json_of_a_past_seq(world: World) -> None:
    response = world.client("owner").get(url(world, "export/json/?seq=1"))
    assert response["Content-Disposition"].endswith('-1.json"')
    assert response.json() == {"version": 1, "seq": 1, "elements": [stroke("s1")]}


def test_export_svg_draws_every_element(world: World) -> None:
    svg = world.client("owner").get(url(world, "export/svg/")).content.decode()
    assert 'data-id="s1"' in svg and 'data-id="r1"' in svg


def test_export_ignores_accept_and_refuses_unknown_formats(world: World) -> None:
    client = world.client("owner")
    png = client.get(url(world, "export/png/"), HTTP_ACCEPT="image/png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert client.get(url(world, "export/pdf/")).status_code == 404
    bad_seq = client.get(url(world, "export/svg/?seq=99"), HTTP_ACCEPT="image/svg+xml")
    assert bad_seq.status_code == 400 and bad_seq["Content-Type"] == "application/json"


def test_ops_after_the_head_is_empty_and_reports_the_real_head(world: World) -> None:
    body = world.client("owner").get(url(world, "ops/"), {"after": 50}).json()
    assert body == {"ops": [], "next_after": 50, "head_seq": 2}
