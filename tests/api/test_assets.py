"""
Image assets over the API: upload (raw body, multipart), type sniffing, the byte and pixel
bounds, previews, caching, roles and share links, copying between boards, restore.
"""

from __future__ import annotations

import io
from typing import Any

import msgpack
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image
from rest_framework.test import APIClient

from board import services
from board.models import Asset, BoardAsset, Snapshot
from tests.support.elements import image
from tests.support.factories import World, create_board
from tests.support.images import image_bytes, png_bomb, sha

PNG = image_bytes("PNG")


def assets_url(board: Any, asset: str | None = None) -> str:
    return f"/api/v1/boards/{board.id}/assets/" + (f"{asset}/" if asset else "")


def upload(client: APIClient, board: Any, data: bytes, content_type: str = "image/png") -> Any:
    return client.generic("POST", assets_url(board), data, content_type=content_type)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["message"], body
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_each_supported_type_is_stored_once_and_served_as_sniffed(
    world: World, fmt: str, mime: str
) -> None:
    data = image_bytes(fmt, (40, 30))
    editor = world.client("editor")
    # The Content-Type the client claims does not matter: the bytes decide.
    first = upload(editor, world.board, data, "application/octet-stream")
    assert first.status_code == 201, first.content
    assert first.json() == {
        "id": sha(data),
        "mime": mime,
        "width": 40,
        "height": 30,
        "bytes": len(data),
    }
    again = upload(world.client("owner"), world.board, data)
    assert again.status_code == 200 and again.json() == first.json()
    assert Asset.objects.count() == 1 and BoardAsset.objects.count() == 1

    got = world.client("viewer").get(assets_url(world.board, sha(data)))
    assert got.status_code == 200
    assert got.content == data and got["Content-Type"] == mime
    cache = got["Cache-Control"]
    assert "immutable" in cache and "private" in cache and "max-age=31536000" in cache
    revalidated = world.client("viewer").get(
        assets_url(world.board, sha(data)), HTTP_IF_NONE_MATCH=got["ETag"]
    )
    assert revalidated.status_code == 304 and not revalidated.content


@pytest.mark.django_db
def test_a_multipart_png_named_jpg_is_a_png(world: World) -> None:
    file = SimpleUploadedFile("holiday.jpg", PNG, content_type="image/jpeg")
    response = world.client("editor").post(assets_url(world.board), {"file": file})
    assert response.status_code == 201, response.content
    assert response.json()["mime"] == "image/png"
    got = world.client("editor").get(assets_url(world.board, sha(PNG)))
    assert got["Content-Type"] == "image/png"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"just some notes\n", "text/plain"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (b"", "image/png"),
        (b"BM" + b"\x00" * 60, "image/bmp"),
    ],
    ids=["text", "svg", "empty", "bmp"],
)
def test_anything_but_the_four_types_is_415(world: World, data: bytes, content_type: str) -> None:
    response = upload(world.client("editor"), world.board, data, content_type)
    if data:
        body = assert_error(response, 415, "unsupported_image")
        assert "image/webp" in body["extra"]["supported"]
    else:  # no body at all: nothing was sent
        assert_error(response, 400, "invalid")
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_a_text_file_in_a_multipart_form_is_415(world: World) -> None:
    file = SimpleUploadedFile("notes.png", b"hello " * 100, content_type="image/png")
    response = world.client("editor").post(assets_url(world.board), {"file": file})
    assert_error(response, 415, "unsupported_image")


@pytest.mark.django_db
def test_above_the_byte_limit_is_413_raw_and_multipart(world: World) -> None:
    out = io.BytesIO()
    Image.effect_noise((300, 300), 80).save(out, "PNG")
    big = out.getvalue()
    with override_settings(INKROOM={"MAX_IMAGE_BYTES": len(big) - 1}):
        body = assert_error(
            upload(world.client("editor"), world.board, big), 413, "image_too_large"
        )
        assert body["extra"] == {"bytes": len(big), "limit": len(big) - 1}
        file = SimpleUploadedFile("big.png", big, content_type="image/png")
        response = world.client("editor").post(assets_url(world.board), {"file": file})
        assert_error(response, 413, "image_too_large")
    with override_settings(INKROOM={"MAX_IMAGE_BYTES": 1000}):
        # Far above the bound (and its multipart slack): refused from Content-Length alone.
        huge = PNG + b"\x00" * 100_000
        assert_error(upload(world.client("editor"), world.board, huge), 413, "too_large")
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_the_default_byte_limit_lets_a_large_photo_through(world: World) -> None:
    # The API's general body bound (2 MiB) must not apply: a 3 MB photo is ordinary.
    noise = Image.effect_noise((1400, 1000), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    data = out.getvalue()
    assert len(data) > 2 * 1024 * 1024
    response = upload(world.client("editor"), world.board, data)
    assert response.status_code == 201, response.content[:300]


@pytest.mark.django_db
def test_a_pixel_bomb_is_422_before_decoding(world: World) -> None:
    bomb = png_bomb(10_000, 10_000)  # 100 M pixels (400 MB decoded) in under 100 bytes
    assert len(bomb) < 200
    body = assert_error(
        upload(world.client("editor"), world.board, bomb), 422, "image_too_many_pixels"
    )
    assert body["extra"] == {"width": 10_000, "height": 10_000, "limit": 40_000_000}
    with override_settings(INKROOM={"MAX_IMAGE_PIXELS": 40 * 30 - 1}):
        assert_error(upload(world.client("editor"), world.board, PNG), 422, "image_too_many_pixels")
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_a_truncated_image_is_422(world: World) -> None:
    photo = image_bytes("JPEG", (800, 600))
    response = upload(world.client("editor"), world.board, photo[:200])
    assert_error(response, 422, "invalid_image")


@pytest.mark.django_db
def test_the_preview_is_at_most_512_px_and_a_small_image_is_its_own(world: World) -> None:
    photo = image_bytes("JPEG", (2000, 1000))
    editor = world.client("editor")
    assert upload(editor, world.board, photo).status_code == 201
    preview = editor.get(assets_url(world.board, sha(photo)) + "?preview=1")
    assert preview.status_code == 200 and preview["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (512, 256)
    assert preview["ETag"] != editor.get(assets_url(world.board, sha(photo)))["ETag"]

    clear = image_bytes("PNG", (1024, 100), (0, 0, 255, 128))
    assert upload(editor, world.board, clear).status_code == 201
    preview = editor.get(assets_url(world.board, sha(clear)) + "?preview=1")
    assert preview["Content-Type"] == "image/png"  # transparency kept
    assert Image.open(io.BytesIO(preview.content)).size == (512, 50)

    assert upload(editor, world.board, PNG).status_code == 201
    small = editor.get(assets_url(world.board, sha(PNG)) + "?preview=1")
    assert small.content == PNG


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("owner", 201),
        ("editor", 201),
        ("viewer", 403),
        ("stranger", 404),
        ("anonymous", 401),
        ("anon_share", 401),
    ],
)
def test_who_may_upload(world: World, caller: str, status: int) -> None:
    response = upload(world.client(caller), world.board, PNG)
    assert response.status_code == status, response.content
    assert Asset.objects.exists() == (status == 201)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("owner", 200),
        ("editor", 200),
        ("viewer", 200),
        ("stranger", 404),
        ("anonymous", 401),
        ("anon_share", 200),
        ("anon_link", 200),
    ],
)
def test_who_may_download(world: World, caller: str, status: int) -> None:
    assert upload(world.client("editor"), world.board, PNG).status_code == 201
    response = world.client(caller).get(assets_url(world.board, sha(PNG)))
    assert response.status_code == status
    if status == 200:
        assert response.content == PNG
    else:
        assert response.json()["code"] in {"not_found", "not_authenticated"}


@pytest.mark.django_db
def test_another_boards_member_cannot_reach_an_asset_through_their_board(world: World) -> None:
    assert upload(world.client("editor"), world.board, PNG).status_code == 201
    stranger = world.users["stranger"]
    theirs = create_board(stranger)
    response = world.client("stranger").get(assets_url(theirs, sha(PNG)))
    assert_error(response, 404, "not_found")
    # Nor can they link it by naming it: they can read it on no board.
    copy = world.client("stranger").post(assets_url(theirs), {"copy_from": sha(PNG)}, format="json")
    assert_error(copy, 404, "not_found")
    assert world.client("stranger").get(assets_url(theirs, sha(PNG))).status_code == 404


@pytest.mark.django_db
def test_an_unknown_or_malformed_asset_id_is_404_json(world: World) -> None:
    editor = world.client("editor")
    assert_error(editor.get(assets_url(world.board, "0" * 64)), 404, "not_found")
    assert_error(editor.get(assets_url(world.board, "NOT-A-HASH")), 404, "not_found")


@pytest.mark.django_db
def test_an_image_pasted_into_another_board_is_copied_there(world: World) -> None:
    assert upload(world.client("editor"), world.board, PNG).status_code == 201
    editor = world.users["editor"]
    other = create_board(editor, "Elsewhere")
    client = world.client("editor")
    assert client.get(assets_url(other, sha(PNG))).status_code == 404
    response = client.post(assets_url(other), {"copy_from": sha(PNG)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == sha(PNG)
    assert client.get(assets_url(other, sha(PNG))).content == PNG
    assert Asset.objects.count() == 1  # linked, not stored twice
    bad = client.post(assets_url(other), {"copy_from": "xyz"}, format="json")
    assert_error(bad, 400, "invalid")
    for junk in ([1, 2], 5, "copy_from", None):
        assert_error(client.post(assets_url(other), junk, format="json"), 400, "invalid")


@pytest.mark.django_db
def test_a_restore_keeps_its_images_linked(world: World) -> None:
    assert upload(world.client("editor"), world.board, PNG).status_code == 201
    state = {"v": 1, "s": 3, "els": [image("i1", sha(PNG))]}
    snapshot = Snapshot.objects.create(board=world.board, seq=2, state=msgpack.packb(state))
    BoardAsset.objects.all().delete()  # whatever happened to the links since
    services.snapshot_restore(snapshot=snapshot, author=world.users["owner"])
    got = world.client("viewer").get(assets_url(world.board, sha(PNG)))
    assert got.status_code == 200 and got.content == PNG


def animated_gif(frames: int, size: tuple[int, int]) -> bytes:
    """
    A GIF of `frames` frames of `size`, each a different colour (Pillow keeps them all).
    """
    pictures = [Image.new("RGB", size, (n * 7 % 256, 40, 40)) for n in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=40)
    return out.getvalue()


@pytest.mark.django_db
def test_an_animations_frames_count_against_the_pixel_limit(world: World, settings: Any) -> None:
    # 10 frames of 40 x 30: 1,200 pixels a frame, 12,000 in all. One frame fits the limit.
    settings.INKROOM = {**settings.INKROOM, "MAX_IMAGE_PIXELS": 12_000 - 1}
    body = assert_error(
        upload(world.client("editor"), world.board, animated_gif(10, (40, 30))),
        422,
        "image_too_many_pixels",
    )
    assert body["extra"] == {"width": 40, "height": 30, "frames": 10, "limit": 11_999}
    assert "10 frames" in body["message"]
    settings.INKROOM = {**settings.INKROOM, "MAX_IMAGE_PIXELS": 12_000}
    assert (
        upload(world.client("editor"), world.board, animated_gif(10, (40, 30))).status_code == 201
    )


@pytest.mark.django_db
def test_uploads_past_the_rate_are_429_with_retry_after(world: World, settings: Any) -> None:
    settings.INKROOM = {**settings.INKROOM, "IMAGE_UPLOAD_RATE": "2/min"}
    editor = world.client("editor")
    for n in range(2):
        assert upload(editor, world.board, image_bytes("PNG", (10 + n, 10))).status_code == 201
    refused = upload(editor, world.board, image_bytes("PNG", (20, 10)))
    body = assert_error(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many images uploaded" in body["message"]
    # Per caller: the owner still uploads.
    assert (
        upload(world.client("owner"), world.board, image_bytes("PNG", (30, 10))).status_code == 201
    )
    settings.INKROOM = {**settings.INKROOM, "IMAGE_UPLOAD_RATE": None}
    assert upload(editor, world.board, image_bytes("PNG", (20, 10))).status_code == 201
