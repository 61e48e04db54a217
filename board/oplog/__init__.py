"""
The durable op log: sequencing, storing and reading a board's ops.

Ops arrive here already validated (board.document); the log does not interpret them. One job
per module:

* `append`: `append_batches` / `append_ops` (one transaction for many boards) and `find_stored`;
* `sequence`: numbering submissions and building their stored wire entries (pure);
* `store`, `orm`, `postgres`: the statements of an append, through the ORM or on PostgreSQL;
* `resends`: when an append on PostgreSQL inserts first and when it probes first;
* `read`: stored entries by seq range, and decoding one.
"""

from __future__ import annotations

from board.oplog.append import append_batches, append_ops, find_stored
from board.oplog.read import decode_entry, ops_after, ops_between
from board.oplog.sequence import AppendResult, Submission, is_resend

__all__ = [
    "AppendResult",
    "Submission",
    "append_batches",
    "append_ops",
    "decode_entry",
    "find_stored",
    "is_resend",
    "ops_after",
    "ops_between",
]
