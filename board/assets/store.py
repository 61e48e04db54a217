"""
Storing, linking and reading image assets (writes are `asset_*` services, reads selectors).

One row per distinct file (Asset, keyed by SHA-256), linked to the boards that may serve it
(BoardAsset). Uploading bytes a board already has, or that another board uploaded, stores
nothing new: it links the existing row. Callers authorise first (board.selectors.BoardAccess).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from board.access import resolve_role
from board.assets.images import ImageInfo, make_preview, probe
from board.assets.refs import asset_refs
from board.conf import board_settings
from board.exceptions import BoardNotFound, ImageTooLarge
from board.export.images import AssetBlob
from board.models import Asset, Board, BoardAsset

logger = logging.getLogger(__name__)

#: Boards tried when a copy asks "may this user read the asset anywhere": the most recently
#: linked first. A user with a role on none of them gets 404 and can upload the bytes instead.
COPY_BOARDS_CHECKED = 50


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """
    What the API says about an asset: {"id", "mime", "width", "height", "bytes"}.
    """

    id: str
    mime: str
    width: int
    height: int
    bytes: int

    @classmethod
    def of(cls, asset: Asset) -> AssetInfo:
        return cls(asset.sha256, asset.mime, asset.width, asset.height, asset.size)


#: The Asset columns that are not the bytes.
_META = ("sha256", "mime", "width", "height", "size", "linked_at")


def asset_upload(*, board: Board, data: bytes) -> tuple[AssetInfo, bool]:
    """
    Store `data` (if new) and link it to `board`; return its info and whether it was new.

    Raises ImageTooLarge, ImageRejected (not PNG/JPEG/GIF/WebP), ImageTooManyPixels or
    ImageUnreadable. The preview is made here, in the request's thread: Pillow decodes and
    resizes with the GIL released, and JPEGs decode at reduced scale.
    """
    conf = board_settings()
    if len(data) > conf.max_image_bytes:
        raise ImageTooLarge(
            f"The image is {len(data):,} bytes, above the limit of {conf.max_image_bytes:,}.",
            extra={"bytes": len(data), "limit": conf.max_image_bytes},
        )
    info = probe(data, max_pixels=conf.max_image_pixels)
    sha = hashlib.sha256(data).hexdigest()
    existing = Asset.objects.filter(sha256=sha).only(*_META).first()
    if existing is not None:
        _link(board, [sha])
        return AssetInfo.of(existing), False
    asset, created = _create(sha, data, info)
    _link(board, [sha])
    return AssetInfo.of(asset), created


def _create(sha: str, data: bytes, info: ImageInfo) -> tuple[Asset, bool]:
    preview, preview_mime = make_preview(data, info)
    now = timezone.now()
    asset = Asset(
        sha256=sha,
        mime=info.mime,
        width=info.width,
        height=info.height,
        size=len(data),
        data=data,
        preview=preview,
        preview_mime=preview_mime,
        linked_at=now,
    )
    try:
        with transaction.atomic():
            asset.save(force_insert=True)
    except IntegrityError:
        # The same bytes uploaded at the same moment by someone else: theirs is ours.
        return Asset.objects.only(*_META).get(sha256=sha), False
    return asset, True


def _link(board: Board, shas: Iterable[str]) -> None:
    shas = list(shas)
    BoardAsset.objects.bulk_create(
        [BoardAsset(board=board, asset_id=sha) for sha in shas], ignore_conflicts=True
    )
    # Restarts the garbage collector's grace period (Asset.linked_at).
    Asset.objects.filter(sha256__in=shas).update(linked_at=timezone.now())


def asset_copy(*, board: Board, user: Any, sha: str) -> AssetInfo:
    """
    Link an existing asset to `board` for a user who may read it on some other board (an
    image element pasted from there); raise BoardNotFound otherwise, as for a missing asset.
    """
    asset = Asset.objects.filter(sha256=sha).only(*_META).first()
    if asset is None:
        raise BoardNotFound("Asset not found.", extra={"id": sha})
    if not BoardAsset.objects.filter(board=board, asset_id=sha).exists():
        linked = (
            Board.objects.filter(asset_links__asset_id=sha)
            .select_related("owner")
            .order_by("-asset_links__created_at")[:COPY_BOARDS_CHECKED]
        )
        if not any(resolve_role(user, other) is not None for other in linked):
            raise BoardNotFound("Asset not found.", extra={"id": sha})
    _link(board, [sha])
    return AssetInfo.of(asset)


def asset_link_existing(*, board: Board, shas: Iterable[str]) -> int:
    """
    Link to `board` those of `shas` that are stored (a snapshot restore's images); return how
    many there were. Needs no permission of its own: the board referenced them already.
    """
    present = list(Asset.objects.filter(sha256__in=set(shas)).values_list("sha256", flat=True))
    if present:
        _link(board, present)
    return len(present)


def asset_get_for_board(*, board: Board, sha: str, preview: bool) -> tuple[bytes, str]:
    """
    Return (bytes, mime) of the asset, or of its preview, if linked to `board`; raise
    BoardNotFound otherwise (not stored and not linked look the same).
    """
    row = (
        Asset.objects.filter(sha256=sha, board_links__board=board)
        .values_list("mime", "preview_mime", "preview" if preview else "data")
        .first()
    )
    if row is None:
        raise BoardNotFound("Asset not found on this board.", extra={"id": sha})
    mime, preview_mime, body = row
    if preview and not body:  # small enough to be its own preview
        return asset_get_for_board(board=board, sha=sha, preview=False)
    return bytes(body), preview_mime if preview else mime


def asset_linked(*, board: Board, sha: str) -> bool:
    """
    True when `sha` is linked to `board` (an If-None-Match check needs no bytes).
    """
    return BoardAsset.objects.filter(board=board, asset_id=sha).exists()


#: Bytes of images one export embeds: base64 makes a third more, and resvg decodes each. Past
#: it, previews stand in for originals; past it again, placeholders.
EXPORT_EMBED_BYTES = 32 * 1024 * 1024
#: Pixels of an original a PNG export decodes (resvg: 4 bytes each); a larger one embeds its
#: preview: the PNG is at most 4096 px a side anyway.
EXPORT_PNG_MAX_IMAGE_PIXELS = 16 * 1024 * 1024


def asset_blobs_for_export(
    *, board_id: str, stored: Iterable[bytes | None], fmt: str
) -> dict[str, AssetBlob]:
    """
    The images to embed in an export of `board_id` whose stored snapshot and log entries are
    `stored`: those they reference (board.assets.refs) that are linked to the board, originals
    while they fit EXPORT_EMBED_BYTES (thumbnails: previews only), then previews.
    """
    wanted: set[str] = set()
    for blob in stored:
        if blob:
            wanted |= asset_refs(bytes(blob))
    if not wanted:
        return {}
    rows = (
        Asset.objects.filter(sha256__in=wanted, board_links__board_id=board_id)
        .annotate(preview_size=Length("preview"))
        .order_by("sha256")
        .values_list("sha256", "width", "height", "size", "preview_size")
    )
    originals, previews, budget = [], [], EXPORT_EMBED_BYTES
    for sha, width, height, size, preview_size in rows:
        own_preview = not preview_size  # small: the original is the preview
        fits = fmt != "png" or width * height <= EXPORT_PNG_MAX_IMAGE_PIXELS
        if (own_preview or (fmt != "thumb" and fits)) and size <= budget:
            originals.append(sha)
            budget -= size
        elif preview_size and preview_size <= budget:
            previews.append(sha)
            budget -= preview_size
    blobs = {
        sha: AssetBlob(mime, bytes(data))
        for sha, mime, data in Asset.objects.filter(sha256__in=originals).values_list(
            "sha256", "mime", "data"
        )
    }
    for sha, mime, preview in Asset.objects.filter(sha256__in=previews).values_list(
        "sha256", "preview_mime", "preview"
    ):
        blobs[sha] = AssetBlob(mime, bytes(preview))
    return blobs
