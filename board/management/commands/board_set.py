"""
`manage.py board_set <board_id> [--title T] [--link-access none|view|edit]`: change a board from
the shell. Goes through board.services, so every live socket of the board hears about it (a
`board` frame, or a role re-check for link users) once the change commits.

Boards made before ids stopped starting with "-" may have one that does: pass it after `--`
(`board_set --title T -- -abc…`), as with any argument that looks like an option.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from board.models import Board, LinkAccess
from board.services import board_update
from board.text import is_scalar_text


class Command(BaseCommand):
    help = "Rename a board or change its link access; live clients are told at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("board_id", help='the board id (after "--" if it starts with "-")')
        parser.add_argument("--title")
        parser.add_argument("--link-access", choices=list(LinkAccess.values))

    def handle(
        self, *args: Any, board_id: str, title: str | None, link_access: str | None, **opts: Any
    ) -> None:
        if title is None and link_access is None:
            raise CommandError("nothing to change: give --title and/or --link-access")
        # Python decodes argv bytes that are not UTF-8 to lone surrogates (surrogateescape),
        # which PostgreSQL can neither store nor compare: say so instead of a traceback.
        for name, value in (("board_id", board_id), ("--title", title)):
            if value is not None and not is_scalar_text(value):
                raise CommandError(f"{name} is not valid text (not UTF-8 in this locale?)")
        if title is not None and not 1 <= len(title.strip()) <= 200:
            raise CommandError("--title must have 1 to 200 characters")
        board = Board.objects.filter(id=board_id).first()
        if board is None:
            raise CommandError(f"no board {board_id!r}")
        board = board_update(
            board=board, title=title.strip() if title else None, link_access=link_access
        )
        self.stdout.write(f"{board.id}: title {board.title!r}, link access {board.link_access}")
