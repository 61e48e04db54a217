"""
Domain events: what a board service changed, announced once its transaction commits.

Services call `send_on_commit(event)`; whoever must hear of a change connects a receiver to the
`board_event` signal (`sender` is the event's class, `event` the event). realtime.cluster.signals
does, and tells every process's live sockets, so the domain needs no channel layer and no
knowledge of sockets. Sending on commit, as zulip's `send_event_on_commit` does, means a
rolled-back write is never announced; outside a transaction the event is sent at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal


@dataclass(frozen=True, slots=True)
class OpsAppended:
    """
    Ops `first_seq`..`last_seq` were appended to the board's log outside a socket (a restore).
    """

    board_id: str
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class BoardChanged:
    """
    The board's title or link access changed; these are the new values.
    """

    board_id: str
    title: str
    link_access: str


@dataclass(frozen=True, slots=True)
class BoardDeleted:
    """
    The board is gone, with its log, snapshots and memberships.
    """

    board_id: str


@dataclass(frozen=True, slots=True)
class AccessChanged:
    """
    Someone's role on the board may have changed: `user_id`'s, or anyone's when None (link
    access, a share link revoked).
    """

    board_id: str
    user_id: int | None = None


BoardEvent = OpsAppended | BoardChanged | BoardDeleted | AccessChanged

#: Sent with `event=` (a BoardEvent) after the transaction that caused it commits.
board_event = Signal()


def send_on_commit(event: BoardEvent) -> None:
    """
    Send `event` to the receivers of `board_event` once the current transaction commits.
    """
    transaction.on_commit(lambda: board_event.send(sender=type(event), event=event))
