"""
Account changes that must reach live sockets: a deleted or deactivated user is disconnected.

Sockets authenticate once, before accept (realtime.middleware), so without this an account
removed by an admin would keep drawing on every board it had open until it disconnected.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from realtime.fanout import publish_user_gone_on_commit


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    publish_user_gone_on_commit(instance.pk)


def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if not created and not instance.is_active and (fields is None or "is_active" in fields):
        publish_user_gone_on_commit(instance.pk)


def connect() -> None:
    """
    Connect the handlers (RealtimeConfig.ready).
    """
    user = get_user_model()
    post_delete.connect(_user_deleted, sender=user, dispatch_uid="inkroom-user-deleted")
    post_save.connect(_user_saved, sender=user, dispatch_uid="inkroom-user-saved")
