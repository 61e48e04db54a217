"""
Pushing from synchronous code (API views, services, management commands) to live sockets.

Everything here publishes through the channel layer to every process's hub, and only after the
surrounding transaction commits: a rolled-back change is never announced. The unwrapped senders
are named `*_now_rollback_unsafe` so nobody calls them by accident. The domain's own changes
arrive as board.events, already on commit (realtime.cluster.signals); `board_event_message` is
what each becomes on the layer.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from board.events import AccessChanged, BoardChanged, BoardDeleted, BoardEvent, OpsAppended

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


def board_event_message(event: BoardEvent) -> dict[str, Any]:
    """
    The `board.event` that tells hubs of a domain event (realtime.cluster.pods acts on it):
    appended ops to fetch, new metadata, a deleted board (4004), roles to re-check.
    """
    match event:
        case OpsAppended():
            return {
                "kind": "ops",
                "board": event.board_id,
                "first": event.first_seq,
                "last": event.last_seq,
            }
        case BoardChanged():
            return {
                "kind": "meta",
                "board": event.board_id,
                "title": event.title,
                "link_access": event.link_access,
            }
        case BoardDeleted():
            return {"kind": "deleted", "board": event.board_id}
        case AccessChanged():
            return {"kind": "access", "board": event.board_id, "user": event.user_id}


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
