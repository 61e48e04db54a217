"""
Photos upright in exports, as the editor shows them.

A phone stores a photo as the sensor saw it and says in its EXIF orientation how to turn it.
Browsers apply that (Chromium's `image-orientation: from-image` default), and the asset's width
and height are the turned ones (board.assets.images), but resvg ignores it and other SVG viewers
differ: an SVG or PNG export embedding the file as stored would show it sideways, stretched into
the turned box. So an export embeds the picture with its orientation set to 1 ("as stored") and
turns it itself, with an SVG transform (board.export.images.render_image): every viewer then draws
it the same way.

A JPEG's tag is rewritten in place, a two-byte patch: re-encoding a 12 MP photo would cost the
worker seconds per export, and lose quality. Other formats (rare with an orientation) are turned
and re-encoded as PNG. The JSON export keeps the stored bytes; previews are made upright when
they are stored.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from dataclasses import replace

from PIL import Image, ImageOps

from board.export.images import AssetBlob

_EXIF_ORIENTATION = 0x0112
_JPEG_SOS = 0xDA
_JPEG_APP1 = 0xE1


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):  # a broken EXIF block: drawn as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orientation_offset(data: bytes) -> tuple[int, str] | None:
    """
    Where a JPEG's EXIF orientation value is, and the byte order ("<" or ">"); None if absent.
    """
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == _JPEG_SOS:
            return None
        body = pos + 4
        if marker == _JPEG_APP1 and data[body : body + 6] == b"Exif\x00\x00":
            return _ifd0_orientation(data, body + 6, body + length - 2)
        pos = body + length - 2
    return None


def _ifd0_orientation(data: bytes, tiff: int, end: int) -> tuple[int, str] | None:
    order = {b"II": "<", b"MM": ">"}.get(data[tiff : tiff + 2])
    if order is None or tiff + 8 > end:
        return None
    (ifd,) = struct.unpack(order + "I", data[tiff + 4 : tiff + 8])
    start = tiff + ifd
    if start + 2 > end:
        return None
    (count,) = struct.unpack(order + "H", data[start : start + 2])
    for k in range(count):
        entry = start + 2 + 12 * k
        if entry + 12 > end:
            return None
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag == _EXIF_ORIENTATION and kind == 3:  # SHORT, stored in the value field
            return entry + 8, order
    return None


def _jpeg_as_stored(data: bytes) -> bytes | None:
    """
    The JPEG with its orientation tag set to 1, or None when the tag cannot be found.
    """
    found = _orientation_offset(data)
    if found is None:
        return None
    offset, order = found
    return data[:offset] + struct.pack(order + "H", 1) + data[offset + 2 :]


def upright(blob: AssetBlob) -> AssetBlob:
    """
    `blob` as an export embeds it: orientation 1 in the bytes, and the turn to apply in
    `orientation`. Itself when it needs no turn (or is a GIF, or does not decode: drawn as stored).
    """
    if blob.mime == "image/gif":
        return blob
    try:
        with Image.open(io.BytesIO(blob.data)) as image:
            orientation = _orientation(image)
            if orientation == 1:
                return blob
            if blob.mime == "image/jpeg":
                patched = _jpeg_as_stored(blob.data)
                if patched is not None:
                    return replace(blob, data=patched, orientation=orientation)
            turned = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError):
        return blob
    out = io.BytesIO()
    turned.save(out, "PNG")
    return AssetBlob("image/png", out.getvalue())


def upright_assets(assets: Mapping[str, AssetBlob]) -> dict[str, AssetBlob]:
    """
    Every blob of `assets` as an export embeds it (see upright).
    """
    return {sha: upright(blob) for sha, blob in assets.items()}
