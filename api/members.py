"""
Who is on a board: members (listed by anyone signed in with a role, changed by the owner) and
share links (owner only).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import BoardApi
from api.schema import READ_ERRORS, WRITE_ERRORS, errors
from api.serializers import UserSerializer
from board import services
from board.models import Membership, Role, ShareLink
from board.selectors import (
    membership_get_for_board,
    membership_list_for_board,
    share_link_get_for_board,
    share_link_list_for_board,
)

#: Roles a member or a share link can be given; ownership is not transferable here.
GRANTABLE_ROLES = [(Role.EDITOR.value, "Editor"), (Role.VIEWER.value, "Viewer")]
#: A share link lives at most a year; longer-lived access should be a membership.
MAX_LINK_HOURS = 24 * 365


class MemberSerializer(serializers.ModelSerializer[Membership]):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "created_at"]
        read_only_fields = fields


class MemberAddSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=GRANTABLE_ROLES)

    def validate_username(self, value: str) -> Any:
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError("No user with this username.")
        board = self.context["board"]
        if Membership.objects.filter(board=board, user=user).exists():
            raise serializers.ValidationError("This user is already a member of the board.")
        return user


class MemberRoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=GRANTABLE_ROLES)


class MemberListApi(BoardApi):
    """
    List the board's members (any signed-in role) or add one (owner).
    """

    minimum_role = {"POST": Role.OWNER}
    action_names = {"POST": "add members"}

    @extend_schema(
        tags=["members"], responses={200: MemberSerializer(many=True), **errors(401, 404)}
    )
    def get(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        members = membership_list_for_board(board=access.board)
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        tags=["members"],
        request=MemberAddSerializer,
        responses={201: MemberSerializer, **errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        serializer = MemberAddSerializer(data=request.data, context={"board": access.board})
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(
            board=access.board,
            user=serializer.validated_data["username"],
            role=serializer.validated_data["role"],
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(BoardApi):
    """
    Change a member's role or remove them (owner only; not the owner's own).
    """

    minimum_role = {"PATCH": Role.OWNER, "DELETE": Role.OWNER}
    action_names = {"PATCH": "change members' roles", "DELETE": "remove members"}

    @extend_schema(
        tags=["members"],
        request=MemberRoleSerializer,
        responses={200: MemberSerializer, **errors(*WRITE_ERRORS)},
        description="The owner's own membership cannot be changed (403).",
    )
    def patch(self, request: Request, board_id: str, user_id: int) -> Response:
        access = self.board_access(request, board_id)
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_get_for_board(board=access.board, user_id=user_id)
        membership = services.membership_set_role(
            membership=membership, role=serializer.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(tags=["members"], responses={204: None, **errors(*READ_ERRORS)})
    def delete(self, request: Request, board_id: str, user_id: int) -> Response:
        access = self.board_access(request, board_id)
        membership = membership_get_for_board(board=access.board, user_id=user_id)
        services.membership_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareLinkSerializer(serializers.ModelSerializer[ShareLink]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ShareLink
        fields = [
            "id",
            "token",
            "role",
            "label",
            "url",
            "created_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_url(self, link: ShareLink) -> str:
        return f"/b/{link.board_id}/?share={link.token}"


class ShareLinkCreateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=GRANTABLE_ROLES)
    # Named like Field.label: DRF's metaclass moves it into _declared_fields (see snapshots.py).
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=100, required=False, allow_blank=True, trim_whitespace=True, default=""
    )
    expires_in_hours = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LINK_HOURS,
        required=False,
        allow_null=True,
        help_text="Hours until the link stops working; absent or null: never. The browser "
        "offers 24, 168 and 720 (1, 7 and 30 days).",
    )


class ShareLinkListApi(BoardApi):
    """
    List or create the board's share links (owner only).
    """

    minimum_role = {"GET": Role.OWNER, "POST": Role.OWNER}
    action_names = {"GET": "see share links", "POST": "create share links"}

    @extend_schema(
        tags=["share links"],
        responses={200: ShareLinkSerializer(many=True), **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        links = share_link_list_for_board(board=access.board)
        return Response(ShareLinkSerializer(links, many=True).data)

    @extend_schema(
        tags=["share links"],
        request=ShareLinkCreateSerializer,
        responses={201: ShareLinkSerializer, **errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        serializer = ShareLinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hours = serializer.validated_data.get("expires_in_hours")
        link = services.share_link_create(
            board=access.board,
            created_by=request.user,
            role=serializer.validated_data["role"],
            label=serializer.validated_data["label"],
            expires_in=timedelta(hours=hours) if hours else None,
        )
        return Response(ShareLinkSerializer(link).data, status=status.HTTP_201_CREATED)


class ShareLinkDetailApi(BoardApi):
    """
    Revoke a share link (owner only).
    """

    minimum_role = {"DELETE": Role.OWNER}
    action_names = {"DELETE": "revoke share links"}

    @extend_schema(
        tags=["share links"],
        responses={204: None, **errors(*READ_ERRORS)},
        summary="Revoke a share link (it stays listed, with revoked_at set)",
    )
    def delete(self, request: Request, board_id: str, link_id: int) -> Response:
        access = self.board_access(request, board_id)
        link = share_link_get_for_board(board=access.board, link_id=link_id)
        services.share_link_revoke(link=link)
        return Response(status=status.HTTP_204_NO_CONTENT)
