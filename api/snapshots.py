"""
Snapshots over HTTP: list, take (manual, labelled), read, read state, and restore.

Reading needs any role (signed in); taking and restoring need editor or owner. A restore appends
one `rst` op to the log (board.services.snapshot_restore): history is never rewritten.

Taking and restoring each store the whole board (a snapshot row; an `rst` entry in the log), so
they are rate-limited per user (SNAPSHOT_RATE): without a limit one user could store any number
of copies of a board.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from api.base import BoardApi
from api.history import StateSerializer, state_body
from api.renderers import JSON_OR_MSGPACK
from api.schema import READ_ERRORS, WRITE_ERRORS, errors
from api.serializers import ErrorSerializer, UserSerializer
from board import services
from board.conf import board_settings
from board.models import Role, Snapshot
from board.selectors import snapshot_get_for_board, snapshot_list_for_board, snapshot_state_get


class SnapshotRateThrottle(SimpleRateThrottle):
    """
    SNAPSHOT_RATE snapshots taken or restored per user, on all boards together.

    Counts live in Django's default cache (Redis when REDIS_URL is set: every process counts
    together). Spent by `spend_snapshot_rate` once the request is allowed and valid, so a
    refused or malformed request costs the caller nothing.
    """

    scope = "snapshot"

    def get_rate(self) -> str | None:
        rate: str | None = board_settings().snapshot_rate
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


def spend_snapshot_rate(view: APIView, request: Request) -> None:
    """
    Count one snapshot write of the caller; raise Throttled (429, Retry-After) past the rate.
    """
    throttle = SnapshotRateThrottle()
    if not throttle.allow_request(request, view):
        raise Throttled(wait=throttle.wait())


THROTTLED = OpenApiResponse(
    ErrorSerializer,
    description="`throttled`: too many snapshots taken or restored; see `Retry-After`.",
)


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    created_by = UserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Snapshot
        fields = ["id", "seq", "label", "kind", "element_count", "created_by", "created_at"]
        read_only_fields = fields


class SnapshotCreateSerializer(serializers.Serializer[Any]):
    # A declared field named like Field.label: DRF's metaclass moves it into _declared_fields,
    # so it never shadows the attribute at runtime; only the stubs see a clash.
    label = serializers.CharField(max_length=200, trim_whitespace=True)  # type: ignore[assignment]


class RestoreResultSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(help_text="The seq of the appended `rst` op.")
    restored_from = serializers.IntegerField(help_text="The snapshot's seq.")
    undo_snapshot = serializers.IntegerField(
        help_text="A snapshot of the board just before this restore: restoring it undoes this one."
    )


class SnapshotListApi(generics.GenericAPIView[Snapshot], BoardApi):
    """
    List the board's snapshots (paginated, newest first) or take a manual one (editor+).
    """

    serializer_class = SnapshotSerializer
    minimum_role = {"POST": Role.EDITOR}
    action_names = {"POST": "take snapshots"}

    def get_queryset(self) -> QuerySet[Snapshot]:
        if getattr(self, "swagger_fake_view", False):
            return Snapshot.objects.none()
        access = self.board_access(self.request, self.kwargs["board_id"])
        return snapshot_list_for_board(board=access.board)

    @extend_schema(
        tags=["snapshots"], responses={200: SnapshotSerializer(many=True), **errors(401, 404)}
    )
    def get(self, request: Request, board_id: str) -> Response:
        snapshots = self.get_queryset()
        page = self.paginate_queryset(snapshots)
        data = SnapshotSerializer(page if page is not None else snapshots, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        tags=["snapshots"],
        request=SnapshotCreateSerializer,
        responses={201: SnapshotSerializer, **errors(*WRITE_ERRORS), 429: THROTTLED},
        summary="Take a manual, labelled snapshot at the current head",
    )
    def post(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        serializer = SnapshotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        spend_snapshot_rate(self, request)
        snapshot = services.snapshot_create(
            board=access.board, created_by=request.user, label=serializer.validated_data["label"]
        )
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class SnapshotDetailApi(BoardApi):
    """
    Read one snapshot's metadata.
    """

    @extend_schema(tags=["snapshots"], responses={200: SnapshotSerializer, **errors(401, 404)})
    def get(self, request: Request, board_id: str, snapshot_id: int) -> Response:
        access = self.board_access(request, board_id)
        snapshot = snapshot_get_for_board(board=access.board, snapshot_id=snapshot_id)
        return Response(SnapshotSerializer(snapshot).data)


class SnapshotStateApi(BoardApi):
    """
    Read the board state a snapshot holds.
    """

    renderer_classes = JSON_OR_MSGPACK

    @extend_schema(
        tags=["snapshots"],
        responses={200: StateSerializer, **errors(401, 404, 406)},
        summary="A snapshot's board state (JSON, or msgpack with Accept: application/msgpack)",
    )
    def get(self, request: Request, board_id: str, snapshot_id: int) -> Response:
        access = self.board_access(request, board_id)
        snapshot = snapshot_get_for_board(board=access.board, snapshot_id=snapshot_id)
        return Response(state_body(snapshot_state_get(snapshot=snapshot)))


class SnapshotRestoreApi(BoardApi):
    """
    Restore a snapshot by appending one `rst` op to the log (editor+).
    """

    minimum_role = {"POST": Role.EDITOR}
    action_names = {"POST": "restore snapshots"}

    @extend_schema(
        tags=["snapshots"],
        request=None,
        responses={201: RestoreResultSerializer, **errors(*READ_ERRORS), 429: THROTTLED},
        summary="Restore the board to a snapshot by appending one `rst` op",
    )
    def post(self, request: Request, board_id: str, snapshot_id: int) -> Response:
        access = self.board_access(request, board_id)
        snapshot = snapshot_get_for_board(board=access.board, snapshot_id=snapshot_id)
        spend_snapshot_rate(self, request)
        seq, before = services.snapshot_restore_undoable(snapshot=snapshot, author=request.user)
        body = {"seq": seq, "restored_from": snapshot.seq, "undo_snapshot": before.pk}
        return Response(body, status=status.HTTP_201_CREATED)
