"""
Boards: list, create, retrieve, update, delete, and socket tickets.

Who may do what: any role reads; owners and editors rename (renaming is part of working on a
board, as in most shared-document tools); only the owner changes link access or deletes.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import filters, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.auth import request_credential
from api.base import SHARE_PARAMETERS, BoardApi, InkroomApi, SharedBoardApi, share_token_from
from api.schema import READ_ERRORS, WRITE_ERRORS, errors
from api.serializers import BoardInputSerializer, BoardSerializer
from board import services
from board.access import issue_socket_ticket, link_is_live, share_link_for_token
from board.conf import board_settings
from board.models import Board, Role
from board.selectors import board_list_for_user


class BoardUpdateSerializer(BoardInputSerializer):
    title = serializers.CharField(max_length=200, trim_whitespace=True, required=False)


class StableOrderingFilter(filters.OrderingFilter):
    """
    OrderingFilter with the id as the last key, so pages never overlap or skip on ties.
    """

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        return [*ordering, "id"] if "id" not in ordering else ordering


class BoardListQuerySerializer(serializers.Serializer[Any]):
    shared = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only boards others own that you are a member of or opened through a "
        'share link ("Shared with me"); false: only your own; absent: both.',
    )


class BoardListApi(generics.GenericAPIView[Board], InkroomApi):
    """
    List the boards you own, are a member of or opened through a live share link (paginated),
    or create a board.
    """

    serializer_class = BoardSerializer
    filter_backends = [filters.SearchFilter, StableOrderingFilter]
    search_fields = ["title"]
    ordering_fields = ["title", "updated_at", "created_at"]
    ordering = ["-updated_at"]

    def get_queryset(self) -> QuerySet[Board]:
        query = BoardListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return board_list_for_user(user=self.request.user, shared=query.validated_data["shared"])

    @extend_schema(
        tags=["boards"],
        parameters=[BoardListQuerySerializer],
        responses={200: BoardSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        boards = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(boards)
        data = BoardSerializer(page if page is not None else boards, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        tags=["boards"],
        request=BoardInputSerializer,
        responses={201: BoardSerializer, **errors(400, 401, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        serializer = BoardInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        board = services.board_create(owner=request.user, **serializer.validated_data)
        data = BoardSerializer(board, context={"role": Role.OWNER}).data
        return Response(data, status=status.HTTP_201_CREATED)


class BoardDetailApi(SharedBoardApi):
    """
    Read, update or delete one board.

    Any role reads (share-link holders and link-access visitors included); owners and editors
    rename; only the owner changes link access or deletes.
    """

    minimum_role = {"PATCH": Role.EDITOR, "DELETE": Role.OWNER}
    action_names = {"PATCH": "change the board", "DELETE": "delete the board"}

    @extend_schema(
        tags=["boards"],
        parameters=SHARE_PARAMETERS,
        responses={200: BoardSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        return Response(BoardSerializer(access.board, context={"role": access.role}).data)

    @extend_schema(
        tags=["boards"],
        request=BoardUpdateSerializer,
        responses={200: BoardSerializer, **errors(*WRITE_ERRORS)},
        description="Editors may change the title; only the owner may change link_access.",
    )
    def patch(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        serializer = BoardUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes: dict[str, Any] = serializer.validated_data
        if "link_access" in changes and changes["link_access"] != access.board.link_access:
            access.require(Role.OWNER, "change link access")
        board = services.board_update(board=access.board, **changes)
        return Response(BoardSerializer(board, context={"role": access.role}).data)

    @extend_schema(tags=["boards"], responses={204: None, **errors(*READ_ERRORS)})
    def delete(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        services.board_delete(board=access.board)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SocketTicketSerializer(serializers.Serializer[Any]):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid.")
    ws_url = serializers.CharField()


class SocketTicketApi(BoardApi):
    """
    Issue a single-use 60-second ticket for opening the board's WebSocket without a cookie. It
    is bound to the credential that asked for it: revoking that voids it (realtime.cluster.signals).
    """

    @extend_schema(
        tags=["boards"],
        request=None,
        parameters=SHARE_PARAMETERS,
        responses={200: SocketTicketSerializer, **errors(*READ_ERRORS)},
        summary="A short-lived ticket for opening the board's WebSocket",
    )
    def post(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        ticket = issue_socket_ticket(
            user_id=cast(int, request.user.pk),
            board_id=access.board.id,
            credential=request_credential(request),
        )
        ws_url = f"/ws/boards/{access.board.id}/?v=1&token={ticket}"
        share = share_token_from(request)
        link = share_link_for_token(access.board, share)
        if share and link is not None and link_is_live(link):
            # The ticket carries only the user; a role that came from a share link must travel too.
            ws_url += f"&share={quote(share, safe='')}"
            services.share_link_use_record(link=link, user=request.user)
        return Response(
            {"ticket": ticket, "expires_in": board_settings().socket_ticket_secs, "ws_url": ws_url}
        )
