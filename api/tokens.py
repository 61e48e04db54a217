"""
API tokens (DRF's authtoken): issuing and revoking the one token each user has.

They live with the API that authenticates them, not in the domain: board/ knows nothing of DRF.
Revoking a token also ends the sockets it admitted (realtime.cluster.signals, on Token's
post_delete).
"""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.models import Token


def token_issue(*, user: Any) -> str:
    """
    Return the user's API token, creating it on first use.
    """
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def token_revoke(*, user: Any) -> bool:
    """
    Delete the user's API token; True when there was one.
    """
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
