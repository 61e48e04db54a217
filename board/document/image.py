"""
The image element's own field: `asset`, the SHA-256 of the picture's file (docs/protocol.md §3.1).

Only its form is checked here: which files a board may serve is the asset API's business
(board.assets), which the pure document model cannot see. Lower case only, so one file has one
spelling and the garbage collector's byte scan (board.assets.refs) finds every reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from board.exceptions import OpRejected

#: Keys an image has beyond every element's and a box's (x, y, w, h).
IMAGE_KEYS = frozenset({"asset"})

_is_asset_id = re.compile(r"[0-9a-f]{64}").fullmatch


def image_fields(raw: Mapping[str, Any], kind: str, path: str) -> dict[str, str]:
    """
    The validated image fields of element `raw` ({} for any other type).
    """
    if kind != "image":
        return {}
    value = raw["asset"]
    if type(value) is not str or not _is_asset_id(value):
        where = path + ".asset"
        message = "expected a sha256: 64 lowercase hex digits"
        raise OpRejected(f"{where}: {message}", extra={"field": where})
    return {"asset": value}
