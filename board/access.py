"""
Who may do what on a board: role resolution, credential fingerprints and socket tickets.

One rule for api/ and realtime/: the caller's role is the strongest of their membership, a valid
share-link token they present, and the board's link access. Anonymous callers get a role only
from a share link or link access. "No role" is reported as not found by callers, so a board's
existence never leaks.

A socket lives as long as the credential that admitted it (protocol §1): each one records the
fingerprint of that credential (a session, an API token, or the credential that asked for its
ticket), and revoking the credential closes its sockets (realtime.cluster.signals).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import connection
from django.utils import timezone

from board.conf import board_settings
from board.models import Board, LinkAccess, Membership, Role, ShareLink, SocketTicket

ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}
_LINK_ROLE: dict[str, Role] = {LinkAccess.VIEW: Role.VIEWER, LinkAccess.EDIT: Role.EDITOR}
_TICKET_SALT = "inkroom.socket-ticket"


def strongest(*roles: str | None) -> Role | None:
    """
    Return the highest-ranked of the given roles, or None when there is none.
    """
    present = [Role(r) for r in roles if r]
    return max(present, key=ROLE_RANK.__getitem__) if present else None


def link_is_live(link: ShareLink) -> bool:
    """
    True while a share link grants its role: not revoked, not expired.
    """
    if link.revoked_at is not None:
        return False
    return link.expires_at is None or link.expires_at > timezone.now()


def share_link_for_token(board: Board, token: str | None) -> ShareLink | None:
    """
    Return the board's share link with this token, live or not (None: no such link here).
    """
    if not token:
        return None
    return ShareLink.objects.filter(board=board, token=token).first()


def share_link_role(board: Board, token: str | None) -> Role | None:
    """
    Return the role a share-link token grants on `board`, or None if it is unknown,
    revoked, expired or for another board.
    """
    link = share_link_for_token(board, token)
    return Role(link.role) if link is not None and link_is_live(link) else None


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


#: Credential fingerprints start with their kind, so a password change can name every session
#: of a user at once (the prefix alone) while leaving the API token alone.
SESSION_CREDENTIAL = "session:"
TOKEN_CREDENTIAL = "token:"


def _fingerprint(kind: str, secret: str) -> str:
    # A hash, not the secret: fingerprints travel through Redis and sit in ticket URLs. 128 bits
    # of SHA-256 of a random key of 160 bits or more cannot be reversed or collide by chance.
    return kind + hashlib.sha256(secret.encode()).hexdigest()[:32]


def session_credential(session_key: str) -> str:
    """
    The fingerprint of a Django session (its key).
    """
    return _fingerprint(SESSION_CREDENTIAL, session_key)


def token_credential(token_key: str) -> str:
    """
    The fingerprint of an API token (its key).
    """
    return _fingerprint(TOKEN_CREDENTIAL, token_key)


@dataclass(frozen=True, slots=True)
class TicketClaim:
    """
    What a valid socket ticket stands for: a user, admitted on behalf of `credential` (a
    fingerprint, or "" for a ticket minted by server code).
    """

    user_id: int
    credential: str
    nonce: str


def issue_socket_tickets(
    *, user_id: int, board_id: str, count: int = 1, credential: str | None = None
) -> list[str]:
    """
    Return `count` signed single-use tickets letting `user_id` open one socket each on
    `board_id` within SOCKET_TICKET_SECS, on behalf of `credential` (the fingerprint of what
    authenticated the caller; None only for server code such as tests and the bench).

    Tickets exist so that non-browser clients never put their long-lived API token in a URL. Each
    one is also a row until it is used, expires or its credential is revoked: admission deletes
    the row, so a ticket admits once, and revocation deletes it with the credential's sockets.
    """
    now = timezone.now()
    # Expired rows are swept here, on an API request, never on the join path.
    SocketTicket.objects.filter(expires_at__lte=now).delete()
    expires_at = now + timedelta(seconds=board_settings().socket_ticket_secs)
    nonces = [secrets.token_urlsafe(16) for _ in range(count)]
    SocketTicket.objects.bulk_create(
        SocketTicket(nonce=n, user_id=user_id, credential=credential or "", expires_at=expires_at)
        for n in nonces
    )
    payloads = ({"u": user_id, "b": board_id, "n": n, "c": credential or ""} for n in nonces)
    return [signing.dumps(p, salt=_TICKET_SALT, compress=False) for p in payloads]


def issue_socket_ticket(*, user_id: int, board_id: str, credential: str | None = None) -> str:
    """
    One ticket of issue_socket_tickets.
    """
    return issue_socket_tickets(user_id=user_id, board_id=board_id, credential=credential)[0]


def read_socket_ticket(ticket: str, *, board_id: str) -> TicketClaim | None:
    """
    Return the claim of a well-signed, unexpired ticket for `board_id`, else None. Does not
    spend it, nor look at the database: redeem_socket_ticket does both.
    """
    try:
        data = signing.loads(ticket, salt=_TICKET_SALT, max_age=board_settings().socket_ticket_secs)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("b") != board_id:
        return None
    user_id, nonce, credential = data.get("u"), data.get("n"), data.get("c")
    # Every ticket issued here carries all three; anything else is refused, and the client
    # fetches a fresh one.
    if not (isinstance(user_id, int) and isinstance(nonce, str) and isinstance(credential, str)):
        return None
    return TicketClaim(user_id=user_id, credential=credential, nonce=nonce)


def redeem_socket_ticket(ticket: str, *, board_id: str) -> TicketClaim | None:
    """
    Spend a ticket: its claim if it is valid and was neither used nor revoked, else None.
    """
    claim = read_socket_ticket(ticket, board_id=board_id)
    if claim is None:
        return None
    return claim if spend_socket_ticket(nonce=claim.nonce, user_id=claim.user_id) else None


def spend_socket_ticket(*, nonce: str, user_id: int) -> bool:
    """
    Delete the row of a ticket whose signature was checked (read_socket_ticket): True if it was
    there, i.e. the ticket was neither used nor revoked.

    One statement: deleting the row is the check, so of two sockets presenting the same ticket
    at once exactly one gets it, in every process (the row is in the shared database). Socket
    admission spends a whole batch of tickets with the same DELETE inside its one statement
    (realtime.asgi.admission.lookup); this is the one-ticket form.
    """
    table = connection.ops.quote_name(SocketTicket._meta.db_table)
    with connection.cursor() as cursor:
        # Raw SQL: QuerySet.delete() would wrap this one statement in a transaction (a BEGIN and
        # a COMMIT more on the join path).
        cursor.execute(f"DELETE FROM {table} WHERE nonce = %s AND user_id = %s", [nonce, user_id])
        return bool(cursor.rowcount == 1)


def forget_socket_tickets(*, user_id: int, credential: str) -> int:
    """
    Delete the unused tickets `user_id` got on behalf of `credential`, or of every credential
    starting with it (SESSION_CREDENTIAL: all their sessions). Returns how many.
    """
    if not credential:
        return 0
    tickets = SocketTicket.objects.filter(user_id=user_id, credential__startswith=credential)
    return int(tickets.delete()[0])
