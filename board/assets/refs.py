"""
Which assets stored bytes reference, found without decoding them.

An asset is referenced by an image element's `asset`. Log entries and snapshots are msgpack, in
which that key is always the 6 bytes `\\xa5asset` and a 64-character value always a str8, str16
or str32 header followed by the 64 characters, so one regular-expression pass over the raw bytes
finds every reference: the garbage collector scans the whole log and every snapshot this way,
and an export finds the assets a board needs before any worker decodes it.

A text that happens to contain those bytes reads as a reference too: harmless here, where a
false reference only keeps an asset or embeds one the board may serve anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: The `asset` key followed by a 64-hex-digit string, in every msgpack spelling of the string.
_ASSET_REF = re.compile(rb"\xa5asset(?:\xd9\x40|\xda\x00\x40|\xdb\x00\x00\x00\x40)([0-9a-f]{64})")


def asset_refs(blob: bytes) -> set[str]:
    """
    Return the asset ids (sha256 hex) that msgpack bytes `blob` reference.
    """
    if b"\xa5asset" not in blob:  # most entries: one fast scan, no regex machinery
        return set()
    return {match.decode() for match in _ASSET_REF.findall(blob)}


def element_assets(elements: Iterable[Mapping[str, Any]]) -> set[str]:
    """
    Return the asset ids the (decoded) image elements among `elements` reference.
    """
    return {
        el["asset"]
        for el in elements
        if el.get("type") == "image" and isinstance(el.get("asset"), str)
    }
