"""
What an uploaded file is, read from its bytes: the image type, its size in pixels, a preview.

Pure (no ORM): Pillow reads the header lazily, so the pixel bound is checked before anything is
decoded, and a 40-byte PNG that claims 100,000 x 100,000 pixels costs nothing. An animation's
bound is its frames times its size, its frames counted without decoding them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from board.exceptions import ImageRejected, ImageTooManyPixels, ImageUnreadable

#: Longest side of a preview, px: what the canvas draws while zoomed out, and what an export
#: embeds when the original would make it too heavy.
PREVIEW_SIDE = 512
#: JPEG quality of an opaque preview: a 512 px photo is ~40-70 KB at 85.
PREVIEW_JPEG_QUALITY = 85

#: The types Inkroom stores, by their leading bytes, and the Pillow format each must parse as.
#: Every browser decodes these four; anything else (SVG above all: it can carry script) is
#: refused, whatever name or Content-Type it came with.
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "PNG"),
    (b"\xff\xd8\xff", 0, "image/jpeg", "JPEG"),
    (b"GIF87a", 0, "image/gif", "GIF"),
    (b"GIF89a", 0, "image/gif", "GIF"),
    (b"WEBP", 8, "image/webp", "WEBP"),
)

#: EXIF orientations that swap width and height (a phone photo taken upright).
_TRANSPOSED = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """
    An image's sniffed type and its size as displayed (EXIF orientation applied), px.
    """

    mime: str
    width: int
    height: int


def sniff(data: bytes) -> tuple[str, str] | None:
    """
    Return (mime, Pillow format) of `data` by its leading bytes, or None.
    """
    for magic, offset, mime, fmt in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            if fmt == "WEBP" and data[:4] != b"RIFF":
                continue
            return mime, fmt
    return None


def _open(data: bytes, fmt: str) -> Image.Image:
    try:
        # Our own bound is checked right after, from the header: Pillow's (a warning at 89 M
        # pixels) must not decide instead, nor turn into an error under -W error.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[fmt])
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise ImageUnreadable(
            f"The file starts like {fmt} but cannot be read as one ({exc}).",
            extra={"format": fmt},
        ) from None


def probe(data: bytes, *, max_pixels: int) -> ImageInfo:
    """
    Return what `data` is, or raise ImageRejected (not a supported image) or
    ImageTooManyPixels (above `max_pixels`).
    """
    sniffed = sniff(data)
    if sniffed is None:
        raise ImageRejected(
            "Only PNG, JPEG, GIF and WebP images can be uploaded (judged by the file's bytes).",
            extra={"supported": ["image/png", "image/jpeg", "image/gif", "image/webp"]},
        )
    mime, fmt = sniffed
    with _open(data, fmt) as image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise ImageTooManyPixels(
                f"The image is {width} x {height} pixels, above the limit of {max_pixels:,}.",
                extra={"width": width, "height": height, "limit": max_pixels},
            )
        frames = _frame_count(image, fmt)
        if frames * width * height > max_pixels:
            # A browser decodes every frame of an animation, each the whole picture.
            raise ImageTooManyPixels(
                f"The image is {frames:,} frames of {width} x {height} pixels "
                f"({frames * width * height:,} in all), above the limit of {max_pixels:,}.",
                extra={"width": width, "height": height, "frames": frames, "limit": max_pixels},
            )
        if _orientation(image) in _TRANSPOSED:
            width, height = height, width
    return ImageInfo(mime, width, height)


def _frame_count(image: Image.Image, fmt: str) -> int:
    """
    How many frames an animated image has, from its structure: Pillow skips over a GIF's frames
    without decoding them, and reads an APNG's or animated WebP's count from its header.
    """
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        raise ImageUnreadable(
            f"The file starts like {fmt} but its frames cannot be read ({exc}).",
            extra={"format": fmt},
        ) from None


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):  # a broken EXIF block: draw as stored
        return 1
    return value if isinstance(value, int) else 1


def make_preview(data: bytes, info: ImageInfo) -> tuple[bytes, str]:
    """
    Return (bytes, mime) of a copy at most PREVIEW_SIDE px a side, or (b"", "") when the image
    already is that small and needs no turning (its preview is itself).

    PNG when the image has transparency, JPEG otherwise. GIFs keep their first frame only.
    Raises ImageUnreadable when the bytes do not decode (truncated, corrupt): a file whose
    header promised an image the browser could not draw is no use on a board either.
    """
    sniffed = sniff(data)
    if sniffed is None:
        raise ValueError("make_preview takes the bytes probe() accepted")
    with _open(data, sniffed[1]) as image:
        try:
            if max(image.size) <= PREVIEW_SIDE and _orientation(image) == 1:
                image.load()  # small: cheap to prove it decodes
                return b"", ""
            # JPEG only: decode at 1/2 .. 1/8 scale straight away (a 40 M pixel photo in
            # ~1/10 of the time and memory); other formats ignore it.
            image.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))
            small = ImageOps.exif_transpose(image)
            small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageUnreadable(
                f"The image cannot be decoded ({exc}).", extra={"mime": info.mime}
            ) from None
    out = io.BytesIO()
    if small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info:
        small.convert("RGBA").save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.convert("RGB").save(out, "JPEG", quality=PREVIEW_JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"
