"""
Who may do what on a board: role resolution and short-lived socket tickets.

One rule for api/ and realtime/: the caller's role is the strongest of their membership, a valid
share-link token they present, and the board's link access. Anonymous callers get a role only
from a share link or link access. "No role" is reported as not found by callers, so a board's
existence never leaks.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.utils import timezone

from board.conf import app_settings
from board.models import Board, LinkAccess, Membership, Role, ShareLink

ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}
_LINK_ROLE: dict[str, Role] = {LinkAccess.VIEW: Role.VIEWER, LinkAccess.EDIT: Role.EDITOR}
_TICKET_SALT = "inkroom.socket-ticket"


def strongest(*roles: str | None) -> Role | None:
    """
    Return the highest-ranked of the given roles, or None when there is none.
    """
    present = [Role(r) for r in roles if r]
    return max(present, key=ROLE_RANK.__getitem__) if present else None


def share_link_role(board: Board, token: str | None) -> Role | None:
    """
    Return the role a share-link token grants on `board`, or None if it is unknown,
    revoked, expired or for another board.
    """
    if not token:
        return None
    link = ShareLink.objects.filter(board=board, token=token, revoked_at__isnull=True).first()
    if link is None or (link.expires_at is not None and link.expires_at <= timezone.now()):
        return None
    return Role(link.role)


def resolve_role(user: Any, board: Board, share_token: str | None = None) -> Role | None:
    """
    Return the caller's role on `board` (None: no access).
    """
    member_role = None
    if user is not None and user.is_authenticated:
        if board.owner_id == user.pk:
            return Role.OWNER
        member_role = (
            Membership.objects.filter(board=board, user=user).values_list("role", flat=True).first()
        )
    return strongest(
        member_role, share_link_role(board, share_token), _LINK_ROLE.get(str(board.link_access))
    )


#: Plain strings: an enum member lookup per inbound frame showed in the profile.
_EDIT_ROLES = frozenset({Role.OWNER.value, Role.EDITOR.value})


def can_edit(role: str | None) -> bool:
    """
    True when the role may change the board's content.
    """
    return role in _EDIT_ROLES


def issue_socket_ticket(*, user_id: int, board_id: str) -> str:
    """
    Return a signed ticket letting `user_id` open a socket on `board_id` for a short while.

    Tickets exist so that non-browser clients never put their long-lived API token in a URL.
    """
    return signing.dumps({"u": user_id, "b": board_id}, salt=_TICKET_SALT, compress=False)


def verify_socket_ticket(ticket: str, *, board_id: str) -> int | None:
    """
    Return the user id of a valid, unexpired ticket for `board_id`, else None.
    """
    try:
        data = signing.loads(ticket, salt=_TICKET_SALT, max_age=app_settings.SOCKET_TICKET_SECS)
    except signing.BadSignature:
        return None
    if (
        not isinstance(data, dict)
        or data.get("b") != board_id
        or not isinstance(data.get("u"), int)
    ):
        return None
    return int(data["u"])
