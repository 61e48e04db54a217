"""
The op log's storage path through the ORM: SQLite and any other database but PostgreSQL.
"""

from __future__ import annotations

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from board.models import Board, Op
from board.oplog.sequence import Key, Row, Stored
from board.oplog.store import TOUCH_EVERY

#: Django's bulk_create batch; keeps one INSERT under PostgreSQL's parameter limit.
INSERT_BATCH_SIZE = 2000


class OrmStore:
    """
    The four statements of append_batches through the ORM (board.oplog.store.OpStore).
    """

    def lock_heads(self, board_ids: list[str]) -> dict[str, int]:
        query = Board.objects.select_for_update().filter(id__in=board_ids).order_by("id")
        return dict(query.values_list("id", "head_seq"))

    def existing_ops(self, keys: set[Key]) -> dict[Key, Stored]:
        wanted: dict[tuple[str, str], list[int]] = {}
        for board_id, client_id, op_id in keys:
            wanted.setdefault((board_id, client_id), []).append(op_id)
        if not wanted:
            return {}
        query = Q()
        for (board_id, client_id), op_ids in wanted.items():
            query |= Q(board_id=board_id, client_id=client_id, client_op_id__in=op_ids)
        found = Op.objects.filter(query).values_list(
            "board_id", "client_id", "client_op_id", "seq", "payload"
        )
        return {(b, c, i): (s, bytes(p)) for b, c, i, s, p in found}

    def insert(self, rows: list[Row]) -> None:
        fields = ("board_id", "seq", "client_id", "client_op_id", "author_id", "kind", "payload")
        ops = [Op(**dict(zip(fields, row, strict=True))) for row in rows]
        Op.objects.bulk_create(ops, batch_size=INSERT_BATCH_SIZE)

    def bump_heads(self, heads: dict[str, int]) -> None:
        stale = timezone.now() - TOUCH_EVERY
        Board.objects.filter(id__in=list(heads)).update(
            head_seq=Case(*(When(id=b, then=Value(h)) for b, h in heads.items())),
            updated_at=Case(When(updated_at__lt=stale, then=Now()), default=F("updated_at")),
        )
