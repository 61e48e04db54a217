"""
Persistent models: boards, roles, share links and their uses, the append-only op log,
snapshots and image assets.

No business logic lives here: writes go through board.services / board.oplog.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_board_id() -> str:
    """
    Return an unguessable, URL-safe board id (96 random bits, less the few ids that start with
    "-": a shell command such as `manage.py board_set <id>` would read those as an option).
    """
    while (board_id := secrets.token_urlsafe(12)).startswith("-"):
        pass
    return board_id


def new_share_token() -> str:
    """
    Return an unguessable share-link token (192 random bits).
    """
    return secrets.token_urlsafe(24)


class LinkAccess(models.TextChoices):
    #: Only members can open the board.
    NONE = "none", "No link access"
    #: Anyone signed in with the board URL can view.
    VIEW = "view", "Anyone with the link can view"
    #: Anyone signed in with the board URL can edit.
    EDIT = "edit", "Anyone with the link can edit"


class Role(models.TextChoices):
    #: Full control: members, share links, deletion.
    OWNER = "owner", "Owner"
    #: Draws and manages snapshots.
    EDITOR = "editor", "Editor"
    #: Read-only.
    VIEWER = "viewer", "Viewer"


class Board(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_board_id, editable=False)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_boards"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The seq of the last op in the log; allocated under a row lock in board.oplog.
    head_seq = models.BigIntegerField(default=0)
    link_access = models.CharField(
        max_length=8, choices=LinkAccess.choices, default=LinkAccess.NONE
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class Membership(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["board", "user"], name="membership_unique_board_user")
        ]


class ShareLink(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_share_token, editable=False)
    role = models.CharField(
        max_length=8, choices=[(Role.EDITOR, "Editor"), (Role.VIEWER, "Viewer")]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    #: What the owner calls it ("for the design review"); links are otherwise alike.
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ShareLinkUse(models.Model):
    """
    A signed-in user opened the board through this link: it lists the board under "Shared with
    me" for them, with the link's role, for as long as the link is neither revoked nor expired.

    Not a Membership: access stays the link's, so revoking or expiring it ends it for everyone
    who used it, as the owner expects of a link.
    """

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="uses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_link_uses"
    )
    first_used_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index for "this user's uses" (the board list).
            models.UniqueConstraint(fields=["user", "link"], name="share_link_use_unique")
        ]


class Op(models.Model):
    """
    One entry of a board's append-only log.

    `payload` is the msgpack-encoded wire entry (the op plus `s`, `c`, `u`), so catch-up frames
    are built by concatenating stored bytes without decoding them.
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign key constraints: triggers check both references once per statement rather than
    # once per row, half of a commit's database time (migration 0002 says how).
    board = models.ForeignKey(
        Board, on_delete=models.CASCADE, related_name="ops", db_index=False, db_constraint=False
    )
    seq = models.BigIntegerField()
    client_id = models.CharField(max_length=64)
    client_op_id = models.BigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    kind = models.CharField(max_length=8)
    payload = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index for (board, seq) range scans.
            models.UniqueConstraint(fields=["board", "seq"], name="op_unique_board_seq"),
            models.UniqueConstraint(
                fields=["board", "client_id", "client_op_id"], name="op_unique_client_op"
            ),
        ]


class SnapshotKind(models.TextChoices):
    #: Taken by the compaction policy.
    AUTO = "auto", "Automatic"
    #: Taken by a user, with a label.
    MANUAL = "manual", "Manual"


class Snapshot(models.Model):
    """
    The materialised board at `seq`, msgpack-encoded ({"v": 1, "s": seq, "els": [...]}).
    """

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.BigIntegerField()
    state = models.BinaryField()
    element_count = models.IntegerField(default=0)
    label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=SnapshotKind.choices, default=SnapshotKind.AUTO)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq", "-id"]
        indexes = [models.Index(fields=["board", "-seq"])]


class SocketTicket(models.Model):
    """
    A socket ticket issued and not yet used (board.access). Admission deletes the row, so a
    ticket admits once; revoking the credential that asked for it deletes it too.
    """

    #: The random part of the signed ticket (the ticket itself carries user, board and expiry).
    nonce = models.CharField(primary_key=True, max_length=32)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    #: The fingerprint of the credential that asked for it (board.access.*_credential), or ""
    #: for tickets minted by server code (tests, the bench).
    credential = models.CharField(max_length=48, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        # Revocation deletes by user and credential (prefix), expired rows by expires_at.
        indexes = [models.Index(fields=["user", "credential"], name="ticket_user_credential")]


class Asset(models.Model):
    """
    An uploaded image, stored once by the SHA-256 of its bytes (content-addressed), in the
    database so every process serves it. Boards reach it through BoardAsset rows; `manage.py
    gc_assets` deletes assets that nothing references (board.assets.gc).
    """

    #: Lower-case hex SHA-256 of `data`: the `asset` of an image element.
    sha256 = models.CharField(primary_key=True, max_length=64)
    #: Sniffed from the bytes (image/png, image/jpeg, image/gif, image/webp), never the client's.
    mime = models.CharField(max_length=16)
    #: As displayed (EXIF orientation applied), px.
    width = models.IntegerField()
    height = models.IntegerField()
    size = models.IntegerField()
    data = models.BinaryField()
    #: At most board.assets.images.PREVIEW_SIDE px a side; empty when `data` already is.
    preview = models.BinaryField(default=b"")
    preview_mime = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: Last upload or copy that linked it to a board: the garbage collector's grace period
    #: counts from here, so bytes someone just linked are never collected before use.
    linked_at = models.DateTimeField(db_index=True)


class BoardAsset(models.Model):
    """
    The board may serve the asset (GET assets/{sha}/ follows the board's roles).
    """

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="asset_links")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="board_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index for "is this asset linked to this board".
            models.UniqueConstraint(fields=["board", "asset"], name="board_asset_unique")
        ]
