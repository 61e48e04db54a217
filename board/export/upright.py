"""
Photos upright in exports, as the editor shows them.

A phone stores a photo as the sensor saw it and says in its EXIF orientation how to turn it.
Browsers apply that (Chromium's `image-orientation: from-image` default), and the asset's width
and height are the turned ones (board.assets.images), but resvg ignores it and other SVG viewers
differ: an SVG or PNG export embedding the file as stored would show it sideways, stretched into
the turned box. So the picture is turned here, in the worker, before it is embedded. The JSON
export keeps the original bytes (its reader is a browser, which turns them itself); previews are
made upright when they are stored.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from PIL import Image, ImageOps

from board.export.images import AssetBlob

_EXIF_ORIENTATION = 0x0112
#: JPEG quality of a turned photo: high, as it replaces the original in the export.
TURNED_JPEG_QUALITY = 92


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):  # a broken EXIF block: drawn as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(blob: AssetBlob) -> AssetBlob:
    """
    `blob` turned as its EXIF orientation says, without the tag; itself when it needs no turn
    (or is a GIF, whose frames an embed would lose, or does not decode: drawn as stored).
    """
    if blob.mime == "image/gif":
        return blob
    try:
        with Image.open(io.BytesIO(blob.data)) as image:
            if _orientation(image) == 1:
                return blob
            turned = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return blob
    out = io.BytesIO()
    if blob.mime == "image/jpeg":
        turned.convert("RGB").save(out, "JPEG", quality=TURNED_JPEG_QUALITY)
        return AssetBlob("image/jpeg", out.getvalue())
    turned.save(out, "PNG")
    return AssetBlob("image/png", out.getvalue())


def upright_assets(assets: Mapping[str, AssetBlob]) -> dict[str, AssetBlob]:
    """
    Every blob of `assets` upright (see upright).
    """
    return {sha: upright(blob) for sha, blob in assets.items()}
