"""
`manage.py gc_assets`: delete the image assets that no board's log or snapshots reference
(board.assets.gc says exactly what counts), after a grace period for fresh uploads.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from board.assets.gc import collect_assets
from board.conf import board_settings


class Command(BaseCommand):
    help = (
        "Delete image assets referenced by no board's log or snapshots and last uploaded or "
        "copied more than --grace-secs ago (default INKROOM_ASSET_GC_GRACE_SECS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace-secs", type=int, default=None, help="keep assets linked this recently"
        )
        parser.add_argument("--dry-run", action="store_true", help="report, delete nothing")

    def handle(self, *args: Any, grace_secs: int | None, dry_run: bool, **options: Any) -> None:
        grace = board_settings().asset_gc_grace_secs if grace_secs is None else grace_secs
        if grace < 0:
            raise CommandError("--grace-secs must be >= 0")
        started = time.monotonic()
        result = collect_assets(
            grace_secs=grace, dry_run=dry_run, progress=lambda line: self.stdout.write(line)
        )
        verb = "would delete" if dry_run else "deleted"
        for sha in result.deleted:
            self.stdout.write(f"{verb} {sha}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.ops_scanned:,} log entries and {result.snapshots_scanned:,} snapshots "
                f"scanned, {len(result.referenced):,} assets referenced, {verb} "
                f"{len(result.deleted):,} ({result.bytes_freed:,} bytes) in "
                f"{time.monotonic() - started:.1f} s"
            )
        )
