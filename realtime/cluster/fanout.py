"""
Pushing from synchronous code (API views, services, management commands) to live sockets.

Everything here publishes through the channel layer to every process's hub, and only after the
surrounding transaction commits: a rolled-back change is never announced. The unwrapped senders
are named `*_now_rollback_unsafe` so nobody calls them by accident.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

#: The channel-layer group every process's hub listens on.
PODS_GROUP = "inkroom.pods"


def publish_now_rollback_unsafe(event: dict[str, Any]) -> None:
    """
    Send a `board.event` to every hub now, whatever happens to the current transaction.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(PODS_GROUP, {"type": "board.event", **event})


def publish_on_commit(event: dict[str, Any]) -> None:
    """
    Send a `board.event` to every hub once the current transaction commits.
    """
    transaction.on_commit(lambda: publish_now_rollback_unsafe(event))


def publish_ops_on_commit(board_id: str, first_seq: int, last_seq: int) -> None:
    """
    Tell hubs that ops first_seq..last_seq were appended outside a socket (e.g. a restore).
    """
    publish_on_commit({"kind": "ops", "board": board_id, "first": first_seq, "last": last_seq})


def publish_board_changed_on_commit(board_id: str, *, title: str, link_access: str) -> None:
    """
    Tell live clients that the board's title or link access changed.
    """
    publish_on_commit(
        {"kind": "meta", "board": board_id, "title": title, "link_access": link_access}
    )


def publish_board_deleted_on_commit(board_id: str) -> None:
    """
    Close every socket of a deleted board with 4004.
    """
    publish_on_commit({"kind": "deleted", "board": board_id})


def publish_user_gone_on_commit(user_id: int) -> None:
    """
    Close every socket of a deleted or deactivated account, on every board, with 4001.
    """
    publish_on_commit({"kind": "user_gone", "user": user_id})


def publish_credential_gone_on_commit(user_id: int, credential: str) -> None:
    """
    Close with 4001, on every board, the sockets of `user_id` that `credential` admitted (a
    fingerprint from board.access), or any credential starting with it: it was revoked.
    """
    event = {"kind": "credential_gone", "user": user_id, "credential": credential}
    # Robust (a failure is logged, not raised): this runs inside logout() and token deletion,
    # which must succeed with Redis away; the credential is dead either way, and no new socket
    # is admitted with it.
    transaction.on_commit(lambda: publish_now_rollback_unsafe(event), robust=True)


def publish_access_changed_on_commit(board_id: str, user_id: int | None = None) -> None:
    """
    Re-check the role of live sockets on the board (of one user, or all when None).
    """
    publish_on_commit({"kind": "access", "board": board_id, "user": user_id})
