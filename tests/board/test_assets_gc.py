"""
Asset garbage collection: `manage.py gc_assets` keeps every asset a log entry or snapshot
references and fresh uploads, and deletes the rest; references are found in raw msgpack.
"""

from __future__ import annotations

import struct
from datetime import timedelta
from io import StringIO
from typing import Any

import msgpack
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from board import services
from board.assets import asset_refs, asset_upload
from board.models import Asset, BoardAsset, Snapshot
from tests.support.elements import image, rect
from tests.support.images import image_bytes
from tests.support.store import add_ops


def _asset(board: Any, shade: int) -> str:
    info, created = asset_upload(board=board, data=image_bytes("PNG", (8, 8), (shade, 0, 0)))
    assert created
    return info.id


def test_references_are_found_in_every_msgpack_spelling_of_the_id() -> None:
    sha = "ab" * 32
    entry = msgpack.packb({"i": 1, "k": "add", "el": image("i1", sha), "s": 4})
    assert asset_refs(entry) == {sha}
    # A 64-character string as str16 (what some encoders write) instead of str8.
    str16 = b"\xa5asset\xda" + struct.pack(">H", 64) + sha.encode()
    assert asset_refs(b"\x81" + str16) == {sha}
    assert asset_refs(msgpack.packb({"k": "add", "el": rect("r1")})) == set()
    assert asset_refs(msgpack.packb({"asset": "ab" * 31})) == set()  # not an id


@pytest.mark.django_db
def test_gc_keeps_what_is_referenced_or_fresh_and_deletes_the_rest(
    make_board: Any, user: Any
) -> None:
    board, other, doomed_board = (make_board(user, title=t) for t in ("a", "b", "gone"))
    in_log, in_snapshot, in_restore, unused, fresh, on_deleted = (
        _asset(board, shade) for shade in (10, 20, 30, 40, 50, 60)
    )
    # Added and deleted again: the log still has it (history, undo).
    add_ops(board, [{"k": "add", "el": image("i1", in_log)}, {"k": "del", "ids": ["i1"]}])
    Snapshot.objects.create(
        board=other, seq=0, state=msgpack.packb({"v": 1, "s": 0, "els": [image("i2", in_snapshot)]})
    )
    add_ops(other, [{"k": "rst", "from": 0, "els": [image("i3", in_restore)]}])
    add_ops(doomed_board, [{"k": "add", "el": image("i4", on_deleted)}])
    services.board_delete(board=doomed_board)
    long_ago = timezone.now() - timedelta(days=2)
    Asset.objects.exclude(sha256=fresh).update(linked_at=long_ago)

    out = StringIO()
    call_command("gc_assets", "--dry-run", stdout=out)
    assert f"would delete {unused}" in out.getvalue()
    assert Asset.objects.count() == 6  # a dry run deletes nothing

    out = StringIO()
    call_command("gc_assets", stdout=out)
    text = out.getvalue()
    assert "log entries: 2 scanned" in text and "snapshots: 1 scanned" in text  # progress
    assert "5 assets past the grace period, 2 unreferenced" in text
    assert set(Asset.objects.values_list("sha256", flat=True)) == {
        in_log,
        in_snapshot,
        in_restore,
        fresh,
    }
    assert f"deleted {unused}" in text and f"deleted {on_deleted}" in text
    assert not BoardAsset.objects.filter(asset_id__in=[unused, on_deleted]).exists()

    # With no grace period the fresh upload goes too: nothing references it.
    call_command("gc_assets", "--grace-secs", "0", stdout=StringIO())
    assert not Asset.objects.filter(sha256=fresh).exists()
    assert Asset.objects.count() == 3


@pytest.mark.django_db
def test_gc_refuses_a_negative_grace_period() -> None:
    with pytest.raises(CommandError, match="grace"):
        call_command("gc_assets", "--grace-secs", "-1", stdout=StringIO())
