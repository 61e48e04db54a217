"""
Garbage collection of assets: delete the images nothing references any more.

An asset is *referenced* when an image element naming it appears in any board's log (any
entry: an `add`, or a `rst` restoring it) or in any snapshot. A board's current state is its
latest snapshot plus the log after it, so it is covered; so are the history scrubber, undo
(which re-adds an element from the log's copy) and every snapshot a restore could bring back.
Deleting a board deletes its log and snapshots, so its images become unreferenced unless
another board uses them too. What is unreferenced and was last uploaded or copied
(Asset.linked_at) more than the grace period ago is deleted with its board links.

The scan reads raw bytes (board.assets.refs), only the log entries that can carry an element
(`add`, `rst`), in primary-key order and pages, so it holds one page in memory at a time.
Entries and snapshots committed while it runs are scanned again before anything is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from board.assets.refs import asset_refs
from board.models import Asset, Op, Snapshot

#: Rows read per query: a page of 500 snapshots of a few MB each is the most held at once.
OP_PAGE = 5000
SNAPSHOT_PAGE = 50
#: Log kinds whose entries can carry whole elements.
ELEMENT_KINDS = ("add", "rst")

Progress = Callable[[str], None]


@dataclass
class GcResult:
    """
    What a collection found and did.
    """

    ops_scanned: int = 0
    snapshots_scanned: int = 0
    referenced: set[str] = field(default_factory=set)
    candidates: int = 0
    deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0


def _scan(
    rows: QuerySet[Any], column: str, page: int, refs: set[str], progress: Progress, what: str
) -> int:
    scanned, last = 0, 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", column)[:page])
        if not chunk:
            return scanned
        for _pk, blob in chunk:
            refs |= asset_refs(bytes(blob))
        scanned += len(chunk)
        last = chunk[-1][0]
        progress(f"{what}: {scanned:,} scanned, {len(refs):,} assets referenced so far")


def assets_referenced(
    progress: Progress, *, ops_after: int = 0, snapshots_after: int = 0
) -> tuple[set[str], int, int, int, int]:
    """
    Scan the log and the snapshots with primary keys above the given ones; return (referenced
    ids, ops scanned, snapshots scanned, last op pk, last snapshot pk).
    """
    refs: set[str] = set()
    last_op = Op.objects.aggregate(m=Max("pk"))["m"] or 0
    last_snapshot = Snapshot.objects.aggregate(m=Max("pk"))["m"] or 0
    ops = Op.objects.filter(kind__in=ELEMENT_KINDS, pk__gt=ops_after, pk__lte=last_op)
    n_ops = _scan(ops, "payload", OP_PAGE, refs, progress, "log entries")
    snapshots = Snapshot.objects.filter(pk__gt=snapshots_after, pk__lte=last_snapshot)
    n_snapshots = _scan(snapshots, "state", SNAPSHOT_PAGE, refs, progress, "snapshots")
    return refs, n_ops, n_snapshots, last_op, last_snapshot


def collect_assets(
    *, grace_secs: int, dry_run: bool = False, progress: Progress = lambda _line: None
) -> GcResult:
    """
    Delete the assets no log entry or snapshot references, last linked over `grace_secs` ago.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_secs)
    result = GcResult()
    refs, result.ops_scanned, result.snapshots_scanned, last_op, last_snapshot = assets_referenced(
        progress
    )
    candidates = set(Asset.objects.filter(linked_at__lt=cutoff).values_list("sha256", flat=True))
    result.candidates = len(candidates)
    doomed = candidates - refs
    if doomed:
        # Whatever was committed during the scan, before deciding.
        late, _n_ops, _n_snapshots, _op, _snapshot = assets_referenced(
            progress, ops_after=last_op, snapshots_after=last_snapshot
        )
        refs |= late
        doomed -= late
    result.referenced = refs
    progress(
        f"{len(candidates):,} assets past the grace period, {len(doomed):,} unreferenced"
        + (" (dry run: nothing deleted)" if dry_run else "")
    )
    if dry_run or not doomed:
        result.deleted = sorted(doomed)
        return result
    with transaction.atomic():
        # linked_at again: an upload or copy since the scan restarts the grace period.
        rows = Asset.objects.filter(sha256__in=doomed, linked_at__lt=cutoff)
        gone = list(rows.values_list("sha256", "size"))
        rows.delete()
    result.deleted = sorted(sha for sha, _size in gone)
    result.bytes_freed = sum(size for _sha, size in gone)
    return result
