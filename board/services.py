"""
Writes from outside a socket: accounts, boards, members, share links, snapshots and restores.

Each service is `<entity>_<action>` with keyword-only arguments, runs in one transaction and
announces its change as a domain event sent on commit (board.events), so a rolled-back write is
never announced. Callers authorise first (board.selectors.BoardAccess);
services only enforce the invariants that hold whoever calls them (the owner keeps the owner role,
history stays append-only).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from board.assets import asset_link_existing, element_assets
from board.events import (
    AccessChanged,
    BoardChanged,
    BoardDeleted,
    OpsAppended,
    send_on_commit,
)
from board.exceptions import NotAllowed
from board.models import (
    Board,
    LinkAccess,
    Membership,
    Role,
    ShareLink,
    ShareLinkUse,
    Snapshot,
    SnapshotKind,
)
from board.oplog import append_ops
from board.snapshots import create_snapshot, snapshot_state

logger = logging.getLogger(__name__)

#: The client id of ops the server itself appends (restores); clients cannot claim it because
#: protocol client ids are 8..64 characters.
SERVER_CLIENT_ID = "server"


def user_signup(*, username: str, password: str) -> Any:
    """
    Create an account; the caller validated the username and password.
    """
    return get_user_model().objects.create_user(username=username, password=password)


@transaction.atomic
def board_create(*, owner: Any, title: str, link_access: str = LinkAccess.NONE) -> Board:
    """
    Create a board and the owner's membership.
    """
    board = Board.objects.create(owner=owner, title=title, link_access=link_access)
    Membership.objects.create(board=board, user=owner, role=Role.OWNER)
    return board


@transaction.atomic
def board_update(
    *, board: Board, title: str | None = None, link_access: str | None = None
) -> Board:
    """
    Change the title and/or link access, and tell live sockets.

    A link-access change can take a role away from link users, so sockets re-check their role.
    """
    fields = ["updated_at"]
    if title is not None and title != board.title:
        board.title = title
        fields.append("title")
    access_changed = link_access is not None and link_access != board.link_access
    if access_changed:
        board.link_access = str(link_access)
        fields.append("link_access")
    if len(fields) == 1:
        return board
    board.save(update_fields=fields)
    send_on_commit(BoardChanged(board.id, title=board.title, link_access=board.link_access))
    if access_changed:
        send_on_commit(AccessChanged(board.id))
    return board


@transaction.atomic
def board_delete(*, board: Board) -> None:
    """
    Delete the board with its log, snapshots and memberships; live sockets close with 4004.
    """
    board_id = board.id
    board.delete()
    send_on_commit(BoardDeleted(board_id))


@transaction.atomic
def membership_add(*, board: Board, user: Any, role: str) -> Membership:
    """
    Make `user` an editor or viewer of the board.
    """
    _check_grantable(role)
    membership = Membership.objects.create(board=board, user=user, role=role)
    send_on_commit(AccessChanged(board.id, user.pk))
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    """
    Change a member's role between editor and viewer; the owner's role never changes.
    """
    _check_not_owner(membership)
    _check_grantable(role)
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
        send_on_commit(AccessChanged(membership.board_id, membership.user_id))
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """
    Remove a member (not the owner); their live sockets lose access.
    """
    _check_not_owner(membership)
    board_id, user_id = membership.board_id, membership.user_id
    membership.delete()
    send_on_commit(AccessChanged(board_id, user_id))


def _check_not_owner(membership: Membership) -> None:
    if membership.role == Role.OWNER or membership.board.owner_id == membership.user_id:
        raise NotAllowed(
            "The owner's role cannot be changed or removed.", extra={"user_id": membership.user_id}
        )


def _check_grantable(role: str) -> None:
    if role not in (Role.EDITOR, Role.VIEWER):
        # A programmer error: the API's serializer offers only these two.
        raise ValueError(f"Members can be editors or viewers, not {role!r}.")


def share_link_create(
    *,
    board: Board,
    created_by: Any,
    role: str,
    label: str = "",
    expires_in: timedelta | None = None,
) -> ShareLink:
    """
    Create a share link granting `role` (editor or viewer), optionally labelled and expiring.
    """
    _check_grantable(role)
    expires_at = timezone.now() + expires_in if expires_in is not None else None
    return ShareLink.objects.create(
        board=board, created_by=created_by, role=role, label=label, expires_at=expires_at
    )


def share_link_use_record(*, link: ShareLink, user: Any) -> None:
    """
    Note that signed-in `user` opened the board through `link`, which lists it under "Shared
    with me" for them while the link lives (board.selectors.board_list_for_user).
    """
    if not getattr(user, "is_authenticated", False):
        return
    # One statement, whoever else records the same use at the same moment.
    ShareLinkUse.objects.bulk_create(
        [ShareLinkUse(link=link, user=user, last_used_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "link"],
        update_fields=["last_used_at"],
    )


@transaction.atomic
def share_link_revoke(*, link: ShareLink) -> ShareLink:
    """
    Revoke a share link (idempotent); sockets re-check their role, as link users may lose it.
    """
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        send_on_commit(AccessChanged(link.board_id))
    return link


def snapshot_create(*, board: Board, created_by: Any, label: str) -> Snapshot:
    """
    Take a manual, labelled snapshot of the board at its current head.
    """
    return create_snapshot(board, kind=SnapshotKind.MANUAL, label=label, created_by=created_by)


@transaction.atomic
def snapshot_restore_undoable(*, snapshot: Snapshot, author: Any) -> tuple[int, Snapshot]:
    """
    Restore `snapshot` after keeping the board as it is now in a manual snapshot ("Before
    restoring …"): return the `rst` op's seq and that snapshot, whose restore undoes this one.

    The browser's undo of a restore restores that snapshot (and its redo restores `snapshot`
    again): a restore replaces the whole board, so inverse ops would be as large as the board,
    and the board as it was is already what a snapshot is.
    """
    head = (
        Board.objects.select_for_update()
        .values_list("head_seq", flat=True)
        .get(id=snapshot.board_id)
    )
    name = snapshot.label or f"seq {snapshot.seq}"
    before = create_snapshot(
        snapshot.board_id,
        kind=SnapshotKind.MANUAL,
        label=f"Before restoring “{name}”"[:200],
        created_by=author if getattr(author, "is_authenticated", False) else None,
        upto_seq=head,
    )
    return snapshot_restore(snapshot=snapshot, author=author), before


@transaction.atomic
def snapshot_restore(*, snapshot: Snapshot, author: Any) -> int:
    """
    Append one server-issued `rst` op that replaces the board with the snapshot; return its seq.

    History stays append-only: the restore is an op like any other, so clients apply it in order
    and the ops it overrides remain in the log.
    """
    # Lock the board first so the op id below (the seq this op will get) is unique per board.
    head = (
        Board.objects.select_for_update()
        .values_list("head_seq", flat=True)
        .get(id=snapshot.board_id)
    )
    elements = list(snapshot_state(snapshot).elements.values())
    op = {"i": head + 1, "k": "rst", "from": snapshot.seq, "els": elements}
    # The restored images stay servable on this board whatever happened to its links since.
    asset_link_existing(board=snapshot.board, shas=element_assets(elements))
    result = append_ops(
        board_id=snapshot.board_id,
        author_id=getattr(author, "pk", None),
        client_id=SERVER_CLIENT_ID,
        ops=[op],
    )
    send_on_commit(OpsAppended(snapshot.board_id, result.first_seq, result.last_seq))
    logger.info(
        "board %s restored to snapshot %s (seq %s) at seq %s",
        snapshot.board_id,
        snapshot.pk,
        snapshot.seq,
        result.first_seq,
    )
    return result.first_seq
