"""
Images in exports: SVG embeds the stored bytes, PNG draws them, JSON carries them, and an image
whose asset the board cannot serve is a grey placeholder rather than an error.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from api.history import export_source
from board.assets import store
from board.export.images import PLACEHOLDER_FILL
from tests.support.elements import image
from tests.support.factories import World
from tests.support.images import image_bytes, sha
from tests.support.store import add_ops

pytestmark = pytest.mark.django_db

RED = image_bytes("PNG", (40, 30), (220, 40, 40))


def export(world: World, fmt: str) -> Any:
    response = world.client("viewer").get(f"/api/v1/boards/{world.board.id}/export/{fmt}/")
    assert response.status_code == 200, response.content[:300]
    return response


def with_image(world: World, asset: str) -> None:
    # The world's board holds a stroke and a rect near the origin; the image sits apart.
    add_ops(
        world.board,
        [{"k": "add", "el": image("img", asset, x=200, y=200, w=80, h=60)}],
        client_id="image-test",
    )


def centre_pixel(png: bytes) -> tuple[int, ...]:
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    # The export's viewBox starts 16 units left of and above the content (x 0, y 0).
    return tuple(picture.getpixel((16 + 240, 16 + 230)))


def test_svg_embeds_the_image_and_png_draws_it(world: World) -> None:
    response = world.client("editor").generic(
        "POST", f"/api/v1/boards/{world.board.id}/assets/", RED, content_type="image/png"
    )
    assert response.status_code == 201
    with_image(world, sha(RED))
    svg = export(world, "svg").content.decode()
    uri = "data:image/png;base64," + base64.b64encode(RED).decode()
    assert (
        f'<image x="200" y="200" width="80" height="60" preserveAspectRatio="none" href="{uri}"/>'
        in svg
    )
    assert centre_pixel(export(world, "png").content) == (220, 40, 40)
    body = export(world, "json").json()
    assert body["assets"] == {
        sha(RED): {"mime": "image/png", "data": base64.b64encode(RED).decode()}
    }
    assert body["elements"][-1]["asset"] == sha(RED)


def test_an_image_the_board_cannot_serve_is_a_placeholder(world: World) -> None:
    with_image(world, "ab" * 32)  # never uploaded (or collected, or another board's)
    svg = export(world, "svg").content.decode()
    assert "<image" not in svg and PLACEHOLDER_FILL in svg
    grey = tuple(int(PLACEHOLDER_FILL[i : i + 2], 16) for i in (1, 3, 5))
    assert centre_pixel(export(world, "png").content) != (255, 255, 255)
    pixel = (
        Image.open(io.BytesIO(export(world, "png").content))
        .convert("RGB")
        .getpixel((16 + 205, 16 + 205))
    )
    assert pixel == grey
    assert "assets" not in export(world, "json").json()
    thumbnail = world.client("viewer").get(f"/api/v1/boards/{world.board.id}/thumbnail/")
    assert thumbnail.status_code == 200


def test_a_png_export_of_a_huge_image_embeds_its_preview(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the PNG's decode bound the preview stands in (the PNG is 4096 px at most); SVG
    # keeps the original.
    photo = image_bytes("JPEG", (1200, 800), (30, 160, 60))
    world.client("editor").generic(
        "POST", f"/api/v1/boards/{world.board.id}/assets/", photo, content_type="image/jpeg"
    )
    with_image(world, sha(photo))
    world.board.refresh_from_db()
    monkeypatch.setattr(store, "EXPORT_PNG_MAX_IMAGE_PIXELS", 1000)
    png = export_source(world.board.id, world.board.head_seq, "png").assets[sha(photo)]
    assert png.mime == "image/jpeg"
    assert Image.open(io.BytesIO(png.data)).size == (512, 341)
    svg = export_source(world.board.id, world.board.head_seq, "svg").assets[sha(photo)]
    assert svg.data == photo
    thumb = export_source(world.board.id, world.board.head_seq, "thumb").assets[sha(photo)]
    assert len(thumb.data) < len(photo)
