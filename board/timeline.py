"""
A board's history as people made it: steps of meaningful change, each with its time and author.

The log holds one op per batch of stroke points (`app`, about 30 a second while drawing), so a
history scrubber stepping by seq moves one point batch at a time. A step here is one op, except
that a client's `app` ops join the step of that client's latest earlier op: a stroke's `add` and
its appends are one step, which ends at the stroke's last append. Grouping reads the op kind,
client and author columns only, never the payloads: one query, whatever the ops hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from board.models import Op

#: The kind of the op that appends points to a stroke (document-model.md).
APPEND_KIND = "app"


@dataclass(slots=True)
class HistoryStep:
    """
    One meaningful change: the ops from `first_seq` to `seq` of one client, shown at `seq`.
    """

    seq: int
    first_seq: int
    kind: str
    ops: int
    at: datetime
    author_id: int | None
    author: str | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """
    The steps of a board's latest ops, oldest first; `truncated` when older ops were left out.
    """

    steps: list[HistoryStep]
    truncated: bool


def board_timeline(*, board_id: str, max_ops: int) -> Timeline:
    """
    Return the steps of the board's latest `max_ops` ops.
    """
    rows = list(
        Op.objects.filter(board_id=board_id)
        .order_by("-seq")
        .values_list("seq", "client_id", "kind", "created_at", "author_id", "author__username")[
            : max_ops + 1
        ]
    )
    truncated = len(rows) > max_ops
    rows = rows[:max_ops]
    rows.reverse()
    steps: list[HistoryStep] = []
    open_step: dict[str, HistoryStep] = {}
    for seq, client_id, kind, at, author_id, author in rows:
        step = open_step.get(client_id) if kind == APPEND_KIND else None
        if step is not None:
            step.seq, step.at, step.ops = seq, at, step.ops + 1
            continue
        step = HistoryStep(seq, seq, kind, 1, at, author_id, author)
        steps.append(step)
        open_step[client_id] = step
    # A stroke's step ends at its last append, which may come after other clients' steps.
    steps.sort(key=lambda s: s.seq)
    return Timeline(steps=steps, truncated=truncated)
