"""
What a storage path of the op log does: the statements append_batches is made of.

Two implementations: board.oplog.orm (any database Django supports) and board.oplog.postgres
(whole columns per parameter and binary COPY). Each call's statement count is fixed, whatever
the number of boards or ops.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from board.oplog.sequence import Key, Row, Stored

#: How stale a drawn-on board's updated_at may get. The column is in an index (a board list's
#: order), so setting it on every head bump would make each bump a non-HOT update with a new
#: entry in every index of the board table; a list sorted by activity does not need the second.
TOUCH_EVERY = timedelta(minutes=1)


class OpStore(Protocol):
    """
    The four statements of a probing append, in the order append_batches runs them.
    """

    def lock_heads(self, board_ids: list[str]) -> dict[str, int]:
        """
        Lock the boards (in id order, so concurrent writers never deadlock); return their heads.
        """
        ...

    def existing_ops(self, keys: set[Key]) -> dict[Key, Stored]:
        """
        Return the seq and stored entry of every key already in the log.
        """
        ...

    def insert(self, rows: list[Row]) -> None:
        """
        Store new Op rows.
        """
        ...

    def bump_heads(self, heads: dict[str, int]) -> None:
        """
        Move each board's head to the given seq (and touch updated_at, at most per TOUCH_EVERY).
        """
        ...
