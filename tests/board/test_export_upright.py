"""
Photos with an EXIF orientation are upright in SVG and PNG exports, as the editor (Chromium
applies the orientation by default) shows them; the JSON export keeps the stored bytes.
"""

from __future__ import annotations

import base64
import io
import json
import re

import msgpack
import pytest
from PIL import Image, ImageOps

from board.assets.images import make_preview, probe
from board.export.budget import Budget
from board.export.images import AssetBlob
from board.export.render import rasterise
from board.export.task import ExportSource, run_export
from tests.support.elements import image

RED, BLUE = (255, 0, 0), (0, 0, 255)
BUDGET = Budget(max_glyphs=10**9, max_points=10**9)


QUADRANTS = [RED, BLUE, (0, 160, 0), (240, 200, 0)]  # top-left, top-right, bottom-left, -right


def tagged_photo(orientation: int, fmt: str = "JPEG") -> bytes:
    """
    A 40 x 20 picture as stored, a colour per quadrant, tagged with EXIF `orientation`.
    """
    picture = Image.new("RGB", (40, 20))
    for k, colour in enumerate(QUADRANTS):
        left, top = 20 * (k % 2), 10 * (k // 2)
        picture.paste(colour, (left, top, left + 20, top + 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, fmt, exif=exif.tobytes(), quality=95)
    return out.getvalue()


def shown(data: bytes) -> Image.Image:
    """
    The picture as a browser shows it (Pillow turns it by the tag as Chromium does).
    """
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


def source(data: bytes, mime: str) -> ExportSource:
    w, h = shown(data).size
    entry = {"s": 1, "c": "c", "u": None, "i": 1, "k": "add", "el": image("p", "a" * 64, w=w, h=h)}
    return ExportSource(
        seq=1, snapshot=None, ops=[msgpack.packb(entry)], assets={"a" * 64: AssetBlob(mime, data)}
    )


def near(pixel: tuple[int, ...], colour: tuple[int, ...]) -> bool:
    return all(abs(a - b) < 60 for a, b in zip(pixel, colour, strict=False))


def quadrant_colours(picture: Image.Image) -> list[tuple[int, ...]]:
    """
    The colour at the middle of each quadrant of the picture's non-white part.
    """
    left, top, right, bottom = Image.eval(picture, lambda v: 255 - v).getbbox()
    xs = (left + (right - left) // 4, left + 3 * (right - left) // 4)
    ys = (top + (bottom - top) // 4, top + 3 * (bottom - top) // 4)
    return [picture.getpixel((x, y)) for y in ys for x in xs]


def assert_same_picture(png: bytes, expected: Image.Image) -> None:
    got = quadrant_colours(Image.open(io.BytesIO(png)).convert("RGB"))
    want = quadrant_colours(expected)
    assert all(near(g, w) for g, w in zip(got, want, strict=True)), (got, want)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_png_export_shows_a_tagged_photo_as_the_browser_does(orientation: int) -> None:
    photo = tagged_photo(orientation)
    body = run_export("png", source(photo, "image/jpeg"), BUDGET).body
    assert_same_picture(body, shown(photo))


def test_an_svg_export_embeds_the_photo_untouched_but_its_tag_and_turns_it_itself() -> None:
    photo = tagged_photo(6)
    svg = run_export("svg", source(photo, "image/jpeg"), BUDGET).body
    data = base64.b64decode(re.search(rb'href="data:image/jpeg;base64,([^"]+)"', svg).group(1))
    # Not re-encoded (a two-byte patch), and no viewer turns it a second time.
    assert len(data) == len(photo) and sum(a != b for a, b in zip(data, photo, strict=True)) <= 2
    assert Image.open(io.BytesIO(data)).getexif().get(0x0112) == 1
    assert_same_picture(rasterise(svg.decode()), shown(photo))


def test_a_tagged_webp_is_embedded_upright_as_png() -> None:
    photo = tagged_photo(6, "WEBP")
    svg = run_export("svg", source(photo, "image/webp"), BUDGET).body.decode()
    data = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1))
    assert Image.open(io.BytesIO(data)).size == (20, 40)
    assert_same_picture(rasterise(svg), shown(photo))


def test_the_json_export_keeps_the_stored_bytes() -> None:
    photo = tagged_photo(6)
    body = run_export("json", source(photo, "image/jpeg"), BUDGET).body
    assert photo == base64.b64decode(json.loads(body)["assets"]["a" * 64]["data"])


def test_an_uploaded_photo_is_measured_and_previewed_upright():
    big = Image.new("RGB", (1200, 600), RED)
    big.paste(BLUE, (600, 0, 1200, 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    big.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    info = probe(out.getvalue(), max_pixels=10**8)
    assert (info.width, info.height) == (600, 1200)
    preview, mime = make_preview(out.getvalue(), info)
    small = Image.open(io.BytesIO(preview))
    assert mime == "image/jpeg" and small.size == (256, 512)
    assert near(small.convert("RGB").getpixel((128, 20)), RED)
    assert near(small.convert("RGB").getpixel((128, 490)), BLUE)
