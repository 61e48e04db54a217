"""
The op log of a board, written and read straight through board.oplog and the ORM: what another
process (or the API) stored, and what a test checks was stored.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from board.oplog import append_ops
from tests.support.ops import append, stroke


def add_ops(board: Any, ops: list[dict[str, Any]], client_id: str = "test-client") -> int:
    """
    Append ops without `i` to the log as a socket would (after validation), numbering them
    from 1; return the last seq.
    """
    numbered = [{"i": n, **op} for n, op in enumerate(ops, start=1)]
    return append_ops(board_id=board.id, author_id=None, client_id=client_id, ops=numbered).last_seq


def store_ops(board: Any, n: int, *, start: int = 1, client_id: str = "seeder-01") -> None:
    """
    Append n ops straight to the log, bypassing every hub (as another process would): a stroke
    `e<start>` and n - 1 appends to it.
    """
    ops = [stroke(start, f"e{start}")] + [append(start + k, f"e{start}") for k in range(1, n)]
    append_ops(board_id=board.id, author_id=None, client_id=client_id, ops=ops)


async def board_rows(board: Any) -> list[tuple[int, str, int]]:
    """
    (seq, client_id, client op id) of every stored op of the board.
    """
    from board.models import Op

    query = Op.objects.filter(board_id=board.id).order_by("seq")
    return await sync_to_async(list)(query.values_list("seq", "client_id", "client_op_id"))
