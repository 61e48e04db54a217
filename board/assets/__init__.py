"""
Image assets: uploaded files stored once by SHA-256 in the database, linked to the boards that
may serve them, and collected when nothing references them.

* `images`: what a file is, from its bytes (type, pixels, preview; Pillow);
* `store`: upload, copy between boards, link on restore, read (the ORM);
* `refs`: which assets stored log entries and snapshots reference, without decoding them;
* `gc`: deleting what nothing references (`manage.py gc_assets`).
"""

from __future__ import annotations

from board.assets.refs import asset_refs, element_assets
from board.assets.store import (
    AssetInfo,
    asset_copy,
    asset_get_for_board,
    asset_link_existing,
    asset_linked,
    asset_upload,
)

__all__ = [
    "AssetInfo",
    "asset_copy",
    "asset_get_for_board",
    "asset_link_existing",
    "asset_linked",
    "asset_refs",
    "asset_upload",
    "element_assets",
]
