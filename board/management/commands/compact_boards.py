"""
`manage.py compact_boards`: snapshot every board whose log grew past a threshold since its
latest snapshot, so cold loads and far-behind reconnects replay a short tail.

The hub already snapshots active boards (SNAPSHOT_EVERY_OPS); this is for boards that went quiet
before reaching it, or after an import. It only adds snapshots: the log stays append-only.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.db.models.functions import Coalesce

from board.models import Board, SnapshotKind
from board.snapshots import create_snapshot


class Command(BaseCommand):
    help = "Snapshot boards with at least --min-ops ops since their latest snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--min-ops", type=int, default=100, help="ops since the last snapshot")
        parser.add_argument("--dry-run", action="store_true", help="list, do not snapshot")

    def handle(self, *args: Any, min_ops: int, dry_run: bool, **options: Any) -> None:
        if min_ops < 1:
            raise CommandError("--min-ops must be at least 1")
        boards = list(
            Board.objects.annotate(covered=Coalesce(Max("snapshots__seq"), 0))
            .values_list("id", "title", "head_seq", "covered")
            .order_by("id")
        )
        due = [(b, t, h, c) for b, t, h, c in boards if h - c >= min_ops]
        self.stdout.write(f"{len(due)} of {len(boards)} boards have >= {min_ops} new ops")
        started = time.monotonic()
        for n, (board_id, title, head, covered) in enumerate(due, start=1):
            prefix = f"[{n}/{len(due)}] {board_id} {title!r}: {head - covered} ops"
            if dry_run:
                self.stdout.write(f"{prefix} (dry run)")
                continue
            snap = create_snapshot(board_id, kind=SnapshotKind.AUTO)
            done = f"snapshot at seq {snap.seq} ({snap.element_count} elements)"
            self.stdout.write(f"{prefix} -> {done}")
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")
