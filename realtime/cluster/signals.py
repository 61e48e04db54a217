"""
Changes made outside a socket that must reach live sockets: the domain's events, and accounts
and credentials that end.

The board services send their events on commit (board.events: appended ops, new metadata, a
deleted board, roles to re-check); each becomes a `board.event` to every process's hub.

Sockets authenticate once, before accept (realtime.asgi.middleware), so without this an account
removed by an admin, a revoked API token or a signed-out session would keep drawing on every
board it had open until it disconnected. Each socket records the fingerprint of the credential
that admitted it (board.access); here every way a credential ends closes its sockets with 4001
on every process and deletes the unused socket tickets it asked for:

* account deleted or deactivated: every socket of the user (`user_gone`);
* API token deleted (DELETE auth/token/, the admin, the user's deletion): the token's sockets;
* sign-out (Django's logout(), from any view): the session's sockets;
* password changed (set_password, then save): every session's sockets, since Django's session
  check fails for all of them from now on (the session that changed it is cycled to a new key
  by update_session_auth_hash, so its old key is gone too). The API token survives a password
  change, and so do its sockets.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token

from board.access import (
    SESSION_CREDENTIAL,
    forget_socket_tickets,
    session_credential,
    token_credential,
)
from board.events import BoardEvent, board_event
from realtime.cluster.fanout import (
    board_event_message,
    publish_credential_gone_on_commit,
    publish_now_rollback_unsafe,
    publish_user_gone_on_commit,
)


def _board_event(sender: Any, event: BoardEvent, **kwargs: Any) -> None:
    # board.events sends after the commit, so publishing now is what on commit means.
    publish_now_rollback_unsafe(board_event_message(event))


def revoke_credential(user_id: int, credential: str) -> None:
    """
    `credential` (a fingerprint, or a prefix naming several) of `user_id` ended: delete its
    unused tickets now and close its sockets once the surrounding transaction commits.
    """
    forget_socket_tickets(user_id=user_id, credential=credential)
    publish_credential_gone_on_commit(user_id, credential)


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    publish_user_gone_on_commit(instance.pk)


def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        return
    fields = kwargs.get("update_fields")
    if not instance.is_active and (fields is None or "is_active" in fields):
        publish_user_gone_on_commit(instance.pk)
    # AbstractBaseUser keeps the raw password in `_password` from set_password() until the
    # save that stores it has run (post_save fires inside that save). A hash upgrade on login
    # clears it before saving, so it does not count as a change.
    if getattr(instance, "_password", None) is not None and (
        fields is None or "password" in fields
    ):
        revoke_credential(instance.pk, SESSION_CREDENTIAL)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Sent by logout() before it flushes the session, so the key is still the one in use.
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if user is not None and key:
        revoke_credential(user.pk, session_credential(key))


def _token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    revoke_credential(instance.user_id, token_credential(instance.key))


def connect() -> None:
    """
    Connect the handlers (RealtimeConfig.ready).
    """
    board_event.connect(_board_event, dispatch_uid="inkroom-board-event")
    user = get_user_model()
    post_delete.connect(_user_deleted, sender=user, dispatch_uid="inkroom-user-deleted")
    post_save.connect(_user_saved, sender=user, dispatch_uid="inkroom-user-saved")
    user_logged_out.connect(_logged_out, dispatch_uid="inkroom-logged-out")
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="inkroom-token-deleted")
