"""
The Django admin for boards: browse boards, members, share links and snapshots; the op log is
read-only (history is append-only, even for staff).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from board.models import Board, Membership, Op, ShareLink, Snapshot

if TYPE_CHECKING:
    # django-stubs makes these generic; at runtime they are not (no django_stubs_ext monkeypatch).
    MembershipInlineBase = admin.TabularInline[Membership, Board]
    ShareLinkInlineBase = admin.TabularInline[ShareLink, Board]
    BoardAdminBase = admin.ModelAdmin[Board]
    SnapshotAdminBase = admin.ModelAdmin[Snapshot]
    OpAdminBase = admin.ModelAdmin[Op]
else:
    MembershipInlineBase = ShareLinkInlineBase = admin.TabularInline
    BoardAdminBase = SnapshotAdminBase = OpAdminBase = admin.ModelAdmin


class MembershipInline(MembershipInlineBase):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class ShareLinkInline(ShareLinkInlineBase):
    model = ShareLink
    extra = 0
    fields = ["role", "label", "token", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["token", "created_at"]


@admin.register(Board)
class BoardAdmin(BoardAdminBase):
    list_display = ["id", "title", "owner", "link_access", "head_seq", "updated_at"]
    list_filter = ["link_access"]
    search_fields = ["id", "title", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["id", "head_seq", "created_at", "updated_at"]
    inlines = [MembershipInline, ShareLinkInline]


@admin.register(Snapshot)
class SnapshotAdmin(SnapshotAdminBase):
    list_display = ["id", "board", "seq", "kind", "label", "element_count", "created_at"]
    list_filter = ["kind"]
    search_fields = ["board__id", "label"]
    exclude = ["state"]
    readonly_fields = ["board", "seq", "element_count", "kind", "created_by", "created_at"]


@admin.register(Op)
class OpAdmin(OpAdminBase):
    list_display = ["board", "seq", "kind", "client_id", "client_op_id", "author", "created_at"]
    list_filter = ["kind"]
    search_fields = ["board__id", "client_id"]
    exclude = ["payload"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
