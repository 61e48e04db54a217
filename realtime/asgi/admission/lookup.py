"""
An admission batch's reads: spend the tickets, find the tokens' users, and read the users, boards,
memberships and share links of every socket in it; one statement on PostgreSQL.

Tickets stay single use in the database: the batch deletes their rows, and deleting the row is
the check, so of two sockets presenting the same ticket exactly one gets in, in every process,
and revoking a credential (deleting its tickets' rows) stops its unused tickets at once. A
Redis SET NX would take that check off the database but not the revocation, which would then
need a second store that every admission reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from board.access import spend_socket_ticket
from board.models import Board, Membership, ShareLink, SocketTicket


@dataclass(slots=True)
class Found:
    """
    What the batch's lookup found for one socket (None: no such row).
    """

    spent: bool = False
    #: (id, username, is_active, password hash)
    user: tuple[int, str, bool, str] | None = None
    #: (id, title, link_access, owner id)
    board: tuple[str, str, str, int] | None = None
    member_role: str | None = None
    #: (role, expires_at) of a live share link for the board with the socket's share token.
    share: tuple[str, datetime | None] | None = None


@dataclass(slots=True)
class Ask:
    """
    The lookup one socket needs: the user it claims to be (a ticket's or a session's), or its
    API token; its ticket's nonce; its board and share token.
    """

    user_id: int | None
    nonce: str | None
    token_key: str | None
    board_id: str
    share: str | None


def lookup(asks: list[Ask]) -> list[Found]:
    """
    Spend the tickets and read what each socket needs: one statement on PostgreSQL.
    """
    if connection.vendor == "postgresql":
        return lookup_postgres(asks)
    return lookup_orm(asks)


@cache
def _statement() -> str:
    user_model = get_user_model()
    q = connection.ops.quote_name

    def col(model: Any, name: str) -> str:
        return q(str(model._meta.get_field(name).column))

    pk = q(str(user_model._meta.pk.column))

    from rest_framework.authtoken.models import Token

    return f"""
        WITH req (k, uid, nonce, token, board, share) AS (
            SELECT * FROM unnest(
                %s::int[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]
            )
        ),
        spent AS (
            DELETE FROM {q(SocketTicket._meta.db_table)} AS t USING req
            WHERE t.{col(SocketTicket, "nonce")} = req.nonce
              AND t.{col(SocketTicket, "user")} = req.uid
            RETURNING t.{col(SocketTicket, "nonce")} AS nonce
        ),
        who AS (
            SELECT req.k, req.nonce, req.board, req.share,
                   CASE WHEN req.token IS NULL THEN req.uid ELSE (
                       SELECT tk.{col(Token, "user")} FROM {q(Token._meta.db_table)} AS tk
                       WHERE tk.{col(Token, "key")} = req.token
                   ) END AS uid
            FROM req
        )
        SELECT who.k, who.nonce IN (SELECT nonce FROM spent),
               u.{pk}, u.{col(user_model, user_model.USERNAME_FIELD)},
               u.{col(user_model, "is_active")}, u.{col(user_model, "password")},
               b.{col(Board, "id")}, b.{col(Board, "title")}, b.{col(Board, "link_access")},
               b.{col(Board, "owner")}, m.{col(Membership, "role")},
               s.{col(ShareLink, "role")}, s.{col(ShareLink, "expires_at")}
        FROM who
        LEFT JOIN {q(user_model._meta.db_table)} AS u
               ON u.{pk} = who.uid
        LEFT JOIN {q(Board._meta.db_table)} AS b ON b.{col(Board, "id")} = who.board
        LEFT JOIN {q(Membership._meta.db_table)} AS m
               ON m.{col(Membership, "board")} = b.{col(Board, "id")}
              AND m.{col(Membership, "user")} = u.{pk}
        LEFT JOIN {q(ShareLink._meta.db_table)} AS s
               ON s.{col(ShareLink, "board")} = b.{col(Board, "id")}
              AND s.{col(ShareLink, "token")} = who.share
              AND s.{col(ShareLink, "revoked_at")} IS NULL
    """


def lookup_postgres(asks: list[Ask]) -> list[Found]:
    params: list[Any] = [
        list(range(len(asks))),
        [a.user_id for a in asks],
        [a.nonce for a in asks],
        [a.token_key for a in asks],
        [a.board_id for a in asks],
        [a.share for a in asks],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        rows = cursor.fetchall()
    out = [Found() for _ in asks]
    for k, spent, uid, name, active, password, bid, title, link, owner, member, srole, sexp in rows:
        out[k] = Found(
            spent=bool(spent),
            user=(uid, name, bool(active), password) if uid is not None else None,
            board=(bid, title, link, owner) if bid is not None else None,
            member_role=member,
            share=(srole, sexp) if srole is not None else None,
        )
    return out


def lookup_orm(asks: list[Ask]) -> list[Found]:
    """
    _lookup_postgres with the ORM (SQLite): a few queries per batch, one per ticket.
    """
    from rest_framework.authtoken.models import Token

    spent = {
        a.nonce
        for a in asks
        if a.nonce is not None
        and a.user_id is not None
        and spend_socket_ticket(nonce=a.nonce, user_id=a.user_id)
    }
    keys = {a.token_key for a in asks if a.token_key}
    token_users = dict(Token.objects.filter(key__in=keys).values_list("key", "user_id"))
    uids = [token_users.get(a.token_key) if a.token_key else a.user_id for a in asks]
    user_model = get_user_model()
    users = {
        row[0]: row
        for row in user_model.objects.filter(pk__in={u for u in uids if u is not None}).values_list(
            "pk", user_model.USERNAME_FIELD, "is_active", "password"
        )
    }
    board_ids = {a.board_id for a in asks}
    boards = {
        row[0]: row
        for row in Board.objects.filter(pk__in=board_ids).values_list(
            "id", "title", "link_access", "owner_id"
        )
    }
    members = {
        (b, u): role
        for b, u, role in Membership.objects.filter(
            board_id__in=board_ids, user_id__in={u for u in uids if u is not None}
        ).values_list("board_id", "user_id", "role")
    }
    shares = {
        (b, t): (role, expires)
        for b, t, role, expires in ShareLink.objects.filter(
            token__in={a.share for a in asks if a.share}, revoked_at__isnull=True
        ).values_list("board_id", "token", "role", "expires_at")
    }
    out = []
    for a, uid in zip(asks, uids, strict=True):
        user = users.get(uid) if uid is not None else None
        out.append(
            Found(
                spent=a.nonce in spent,
                user=user,
                board=boards.get(a.board_id),
                member_role=members.get((a.board_id, uid)) if user and uid is not None else None,
                share=shares.get((a.board_id, a.share)) if a.share else None,
            )
        )
    return out
