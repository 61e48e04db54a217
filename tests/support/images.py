"""
Image files for upload tests, made with Pillow, and a pixel bomb made by hand.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

from PIL import Image


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (40, 30), color: tuple[int, ...] = (220, 40, 40)
) -> bytes:
    """
    A solid image of `size` in Pillow format `fmt` (PNG, JPEG, GIF, WEBP).
    """
    mode = "RGBA" if len(color) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png_bomb(width: int, height: int) -> bytes:
    """
    A tiny PNG whose header claims `width` x `height` pixels (its data is one row): what an
    attacker sends to make a server allocate width x height x 4 bytes.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 1024))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
