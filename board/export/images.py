"""
Image elements in exports: the picture embedded as a data URI, or a grey placeholder.

The worker has no database: the server process reads the bytes of the board's images before
the export (`AssetBlob`s in ExportSource.assets, chosen by api.history.export_source within a
byte budget: originals, or previews past it) and the worker renders with them in scope
(`export_assets`). A context variable rather than one more parameter on every renderer: only
this element type needs them, and the thumbnail and export paths reach it through the same
`render_svg`.

An image whose asset is missing (not linked to the board, collected, or beyond the budget even
as a preview) is drawn as a placeholder, like the canvas does while loading: an export never
fails for one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: Placeholder fill and outline (the canvas's, frontend/src/canvas/images.ts).
PLACEHOLDER_FILL = "#e9ecef"
PLACEHOLDER_LINE = "#adb5bd"


@dataclass(frozen=True, slots=True)
class AssetBlob:
    """
    The bytes an export embeds for one asset, and their type.
    """

    mime: str
    data: bytes
    #: The EXIF orientation the picture is to be turned by when drawn (board.export.upright):
    #: 1 for none, the bytes then say 1 too.
    orientation: int = 1

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


_ASSETS: ContextVar[Mapping[str, AssetBlob]] = ContextVar(
    "export_assets", default=MappingProxyType({})
)


@contextmanager
def export_assets(assets: Mapping[str, AssetBlob]) -> Iterator[None]:
    """
    Render image elements with `assets` (asset id -> bytes) while inside.
    """
    token = _ASSETS.set(assets)
    try:
        yield
    finally:
        _ASSETS.reset(token)


def image_box(el: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """
    (left, top, width, height) of an image element: a negative w or h is not a mirror image.
    """
    x, y, w, h = el["x"], el["y"], el["w"], el["h"]
    return min(x, x + w), min(y, y + h), abs(w), abs(h)


def _num(v: float) -> str:
    return str(v) if type(v) is int else f"{v:.2f}".rstrip("0").rstrip(".")


def render_image(el: Mapping[str, Any]) -> str:
    """
    The SVG of one image element: its picture stretched to the box, or the placeholder.
    """
    x, y, w, h = (_num(v) for v in image_box(el))
    blob = _ASSETS.get().get(el["asset"])
    if blob is not None and blob.orientation != 1:
        return _turned_image(el, blob)
    if blob is not None:
        return (
            f'<image x="{x}" y="{y}" width="{w}" height="{h}" preserveAspectRatio="none" '
            f'href="{blob.data_uri()}"/>'
        )
    left, top, width, height = image_box(el)
    # A small mountain-and-sun glyph in the middle, as image placeholders usually show.
    side = min(width, height) / 3
    cx, cy = left + width / 2, top + height / 2
    glyph = (
        f'<path d="M{_num(cx - side / 2)} {_num(cy + side / 3)} l{_num(side / 3)} '
        f"{_num(-side / 2)} l{_num(side / 4)} {_num(side / 4)} l{_num(side / 6)} "
        f'{_num(-side / 8)} l{_num(side / 4)} {_num(side * 3 / 8)}z" fill="{PLACEHOLDER_LINE}"/>'
    )
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{PLACEHOLDER_FILL}" '
        f'stroke="{PLACEHOLDER_LINE}" stroke-width="1"/>{glyph if side >= 4 else ""}'
    )


def _turned_image(el: Mapping[str, Any], blob: AssetBlob) -> str:
    """
    A picture stored turned (EXIF orientation 2..8): drawn as stored into the box before the
    turn, then mapped onto the element's box, as a browser shows it.
    """
    left, top, width, height = image_box(el)
    o = blob.orientation
    # The stored picture's box: the element's, sideways for the orientations that swap axes.
    sw, sh = (height, width) if o >= 5 else (width, height)
    # SVG matrix(a b c d e f), x' = a x + c y + e, y' = b x + d y + f: stored -> shown.
    matrix = {
        2: (-1, 0, 0, 1, sw, 0),
        3: (-1, 0, 0, -1, sw, sh),
        4: (1, 0, 0, -1, 0, sh),
        5: (0, 1, 1, 0, 0, 0),
        6: (0, 1, -1, 0, sh, 0),
        7: (0, -1, -1, 0, sh, sw),
        8: (0, -1, 1, 0, 0, sw),
    }[o]
    return (
        f'<image x="0" y="0" width="{_num(sw)}" height="{_num(sh)}" preserveAspectRatio="none" '
        f'transform="translate({_num(left)} {_num(top)}) '
        f'matrix({" ".join(_num(v) for v in matrix)})" href="{blob.data_uri()}"/>'
    )


def embedded_assets() -> dict[str, dict[str, Any]]:
    """
    The assets in scope as the JSON export carries them: {id: {"mime", "data": base64}}.
    """
    return {
        sha: {"mime": blob.mime, "data": base64.b64encode(blob.data).decode("ascii")}
        for sha, blob in _ASSETS.get().items()
    }
