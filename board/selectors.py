"""
Reads: what a user may see of boards, members, share links, snapshots and history.

Every board read starts from `board_get_for_user`, which resolves the caller's role through
board.access and raises BoardNotFound for "no such board" and "not yours" alike, so a board's
existence never leaks. Writes live in board.services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from board.access import ROLE_RANK, resolve_role, share_link_for_token
from board.document import BoardState
from board.exceptions import BoardError, BoardNotFound, NotAllowed, ShareLinkGone, ShareLinkRevoked
from board.models import Board, Membership, Role, ShareLink, ShareLinkUse, Snapshot
from board.snapshots import snapshot_state, state_at


@dataclass(frozen=True, slots=True)
class BoardAccess:
    """
    A board and the caller's role on it (never None: no role means BoardNotFound).
    """

    board: Board
    role: Role

    def require(self, minimum: Role, action: str) -> None:
        """
        Raise NotAllowed unless the caller's role is at least `minimum`.
        """
        if ROLE_RANK[self.role] < ROLE_RANK[minimum]:
            raise NotAllowed(
                f"Your role on this board ({self.role.value}) does not allow you to {action}.",
                extra={"role": self.role.value, "required": minimum.value},
            )


def board_get_for_user(*, board_id: str, user: Any, share_token: str | None = None) -> BoardAccess:
    """
    Return the board and the caller's role, or raise BoardNotFound if they have none.
    """
    board = Board.objects.select_related("owner").filter(id=board_id).first()
    if board is None:
        raise BoardNotFound("Board not found.")
    role = resolve_role(user, board, share_token)
    if role is None:
        raise _no_role_error(board, share_token)
    return BoardAccess(board=board, role=role)


def _no_role_error(board: Board, share_token: str | None) -> BoardError:
    # Only on the refusal path: one more query to tell a dead link from a wrong token.
    link = share_link_for_token(board, share_token)
    if link is None:
        return BoardNotFound("Board not found.")
    if link.revoked_at is not None:
        return ShareLinkRevoked(
            "This share link was revoked by the board's owner. Ask them for a new one.",
            extra={"revoked_at": link.revoked_at.isoformat()},
        )
    expires_at = link.expires_at.isoformat() if link.expires_at else None
    return ShareLinkGone(
        "This share link has expired. Ask the board's owner for a new one.",
        extra={"expires_at": expires_at},
    )


def board_list_for_user(*, user: Any, shared: bool | None = None) -> QuerySet[Board]:
    """
    Return the boards `user` owns, is a member of, or opened through a share link that is still
    live, each annotated with the user's `role` and, when that role comes from a link, its
    `share_token` (the board's URL needs it). `shared` True keeps only boards someone else
    owns ("Shared with me"), False only the user's own.

    Boards reachable only through link access are not listed: opening a URL anyone may open
    shares nothing with you in particular.
    """
    live_uses = ShareLinkUse.objects.filter(
        Q(link__expires_at__isnull=True) | Q(link__expires_at__gt=timezone.now()),
        user=user,
        link__revoked_at__isnull=True,
    )
    # Of several links to one board, the strongest ("editor" sorts before "viewer").
    board_use = live_uses.filter(link__board=OuterRef("pk")).order_by("link__role", "-last_used_at")
    member_role = Membership.objects.filter(board=OuterRef("pk"), user=user).values("role")[:1]
    mine = Q(owner=user)
    reachable = Q(id__in=Membership.objects.filter(user=user).values("board_id")) | Q(
        id__in=live_uses.values("link__board_id")
    )
    if shared is None:
        boards = Board.objects.filter(mine | reachable)
    else:
        boards = Board.objects.filter(reachable & ~mine) if shared else Board.objects.filter(mine)
    link_wins = Q(member_role__isnull=True) | Q(member_role=Role.VIEWER, link_role=Role.EDITOR)
    return (
        boards.select_related("owner")
        .annotate(
            member_role=Subquery(member_role),
            link_role=Subquery(board_use.values("link__role")[:1]),
        )
        .annotate(
            role=Case(
                When(mine, then=Value(Role.OWNER.value)),
                When(Q(member_role=Role.EDITOR) | Q(link_role=Role.EDITOR), then=Value("editor")),
                default=Value(Role.VIEWER.value),
                output_field=CharField(),
            ),
            share_token=Case(
                When(~mine & link_wins, then=Subquery(board_use.values("link__token")[:1])),
                default=None,
                output_field=CharField(),
            ),
        )
    )


def membership_list_for_board(*, board: Board) -> QuerySet[Membership]:
    """
    Return the board's members, owner first, then by username.
    """
    owner_first = Case(When(role=Role.OWNER, then=Value(0)), default=Value(1))
    return (
        Membership.objects.filter(board=board)
        .select_related("user")
        .order_by(owner_first, "user__username")
    )


def membership_get_for_board(*, board: Board, user_id: int) -> Membership:
    """
    Return the membership of `user_id` on `board`, or raise BoardNotFound (code not_found).
    """
    membership = (
        Membership.objects.filter(board=board, user_id=user_id).select_related("user").first()
    )
    if membership is None:
        raise BoardNotFound("Member not found.", extra={"user_id": user_id})
    return membership


def share_link_list_for_board(*, board: Board) -> QuerySet[ShareLink]:
    """
    Return every share link of the board, newest first, revoked ones included.
    """
    return ShareLink.objects.filter(board=board).order_by("-created_at", "-id")


def share_link_get_for_board(*, board: Board, link_id: int) -> ShareLink:
    """
    Return one share link of the board, or raise BoardNotFound (code not_found).
    """
    link = ShareLink.objects.filter(board=board, id=link_id).first()
    if link is None:
        raise BoardNotFound("Share link not found.", extra={"link_id": link_id})
    return link


def snapshot_list_for_board(*, board: Board) -> QuerySet[Snapshot]:
    """
    Return the board's snapshots, newest seq first, without their (large) state bytes.
    """
    return (
        Snapshot.objects.filter(board=board)
        .select_related("created_by")
        .defer("state")
        .order_by("-seq", "-id")
    )


def snapshot_get_for_board(*, board: Board, snapshot_id: int) -> Snapshot:
    """
    Return one snapshot of the board, or raise BoardNotFound (code not_found).
    """
    snapshot = (
        Snapshot.objects.filter(board=board, id=snapshot_id).select_related("created_by").first()
    )
    if snapshot is None:
        raise BoardNotFound("Snapshot not found.", extra={"snapshot_id": snapshot_id})
    return snapshot


def board_state_at(*, board: Board, seq: int | None = None) -> BoardState:
    """
    Return the materialised board at `seq` (default: its head): latest snapshot <= seq plus tail.
    """
    return state_at(board, board.head_seq if seq is None else seq)


def snapshot_state_get(*, snapshot: Snapshot) -> BoardState:
    """
    Return the state a snapshot stores.
    """
    return snapshot_state(snapshot)
