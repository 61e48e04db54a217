"""
`manage.py partition_oplog --partitions N`: rebuild the op log table (board_op) hash-partitioned
by board in N tables on PostgreSQL, or back into one table with `--partitions 0`, while the
service keeps running (board/partitioning.py says how; docs/capacity.md says when it helps).

A command an operator runs once, not a migration: on a big log the copy takes a while and writes
the log a second time, which a deploy's migrations Job should not start on its own.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from board.partitioning import PartitioningError, partitions_now, rebuild


class Command(BaseCommand):
    help = "Rebuild board_op hash-partitioned by board (PostgreSQL), or as one table with 0."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--partitions", type=int, help="hash partitions (at least 2), or 0 for one table"
        )
        parser.add_argument("--batch", type=int, default=50_000, help="rows per copy transaction")
        parser.add_argument("--status", action="store_true", help="say how board_op is laid out")

    def handle(
        self, *args: Any, partitions: int | None, batch: int, status: bool, **_: Any
    ) -> None:
        if status:
            now = partitions_now()
            self.stdout.write(f"board_op: {f'{now} hash partitions' if now else 'one table'}")
            return
        if partitions is None:
            raise CommandError("give --partitions N (0 for one table) or --status")
        try:
            rebuild(partitions, batch=batch, say=self.stdout.write)
        except PartitioningError as error:
            raise CommandError(str(error)) from None
