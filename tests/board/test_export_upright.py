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
from PIL import Image

from board.assets.images import make_preview, probe
from board.export.budget import Budget
from board.export.images import AssetBlob
from board.export.task import ExportSource, run_export
from tests.support.elements import image

RED, BLUE = (255, 0, 0), (0, 0, 255)
BUDGET = Budget(max_glyphs=10**9, max_points=10**9)


def sideways_photo(fmt: str = "JPEG") -> bytes:
    """
    40 x 20 as stored, red on the left, blue on the right, EXIF orientation 6: shown turned a
    quarter clockwise, 20 x 40, red on top and blue below.
    """
    picture = Image.new("RGB", (40, 20), RED)
    picture.paste(BLUE, (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    picture.save(out, fmt, exif=exif.tobytes(), quality=95)
    return out.getvalue()


def source(data: bytes, mime: str) -> ExportSource:
    entry = {
        "s": 1,
        "c": "c",
        "u": None,
        "i": 1,
        "k": "add",
        "el": image("p", "a" * 64, w=20, h=40),
    }
    return ExportSource(
        seq=1, snapshot=None, ops=[msgpack.packb(entry)], assets={"a" * 64: AssetBlob(mime, data)}
    )


def near(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=False))


def picture_corners(png: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """
    The top-right and bottom-left pixels of the picture in a PNG export (inside its box).
    """
    im = Image.open(io.BytesIO(png)).convert("RGB")
    left, top, right, bottom = Image.eval(im, lambda v: 255 - v).getbbox()  # non-white
    return im.getpixel((right - 3, top + 2)), im.getpixel((left + 2, bottom - 3))


def test_a_png_export_shows_a_turned_photo_upright():
    body = run_export("png", source(sideways_photo(), "image/jpeg"), BUDGET).body
    top_right, bottom_left = picture_corners(body)
    assert near(top_right, RED) and near(bottom_left, BLUE)


def test_an_svg_export_embeds_the_photo_turned_and_without_its_orientation():
    svg = run_export("svg", source(sideways_photo(), "image/jpeg"), BUDGET).body.decode()
    data = base64.b64decode(re.search(r'href="data:image/jpeg;base64,([^"]+)"', svg).group(1))
    embedded = Image.open(io.BytesIO(data))
    assert embedded.size == (20, 40)
    assert embedded.getexif().get(0x0112, 1) == 1  # no viewer turns it a second time
    assert near(embedded.convert("RGB").getpixel((10, 5)), RED)


def test_a_turned_webp_is_embedded_upright_as_png():
    svg = run_export("svg", source(sideways_photo("WEBP"), "image/webp"), BUDGET).body.decode()
    data = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1))
    assert Image.open(io.BytesIO(data)).size == (20, 40)


def test_the_json_export_keeps_the_stored_bytes():
    photo = sideways_photo()
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
