"""
Serializers shared by several API modules: users, boards, and the error bodies (for the schema).

View-specific input serializers live beside their views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from board.models import Board, LinkAccess, Role


class UserSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class BoardSerializer(serializers.ModelSerializer[Board]):
    """
    A board as its caller sees it; `role` comes from the `role` annotation or the context.
    """

    owner = UserSerializer(read_only=True)
    role = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Board
        fields = [
            "id",
            "title",
            "owner",
            "role",
            "link_access",
            "head_seq",
            "created_at",
            "updated_at",
            "url",
            "thumbnail_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_role(self, board: Board) -> str:
        role = getattr(board, "role", None) or self.context.get("role")
        if role is None:
            raise ValueError("BoardSerializer needs a `role` annotation or context entry.")
        return str(role)

    def get_url(self, board: Board) -> str:
        # A board shared with the caller through a link opens with that link's token.
        return f"/b/{board.id}/" + _share_query(board)

    def get_thumbnail_url(self, board: Board) -> str:
        return f"/api/v1/boards/{board.id}/thumbnail/" + _share_query(board)


def _share_query(board: Board) -> str:
    token = getattr(board, "share_token", None)
    return f"?share={token}" if token else ""


class BoardInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200, trim_whitespace=True)
    link_access = serializers.ChoiceField(choices=LinkAccess.choices, required=False)


class ErrorSerializer(serializers.Serializer[Any]):
    """
    The body of every error response.
    """

    message = serializers.CharField()
    code = serializers.CharField()
    extra = serializers.DictField(child=serializers.JSONField())


class ValidationErrorSerializer(ErrorSerializer):
    """
    A 400: the common body plus DRF's field messages under `errors`.
    """

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Added here, not declared: a declared `errors` field reads as if it replaced
        # Serializer.errors (the metaclass moves it aside, but stubs and readers can't tell).
        fields = super().get_fields()
        fields["errors"] = serializers.DictField(
            child=serializers.JSONField(), help_text="Field name -> messages."
        )
        return fields
