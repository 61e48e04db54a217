"""
Reading a board's content over HTTP: state at a seq, the op log, and exports.

All three are open to anyone with a role, share-link holders and link-access visitors included.
State and ops answer JSON or msgpack by Accept; exports answer the file itself, rendered in a
worker process within a budget, cached, and rate-limited per caller (board.export).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgpack
from django.db.models.functions import Length
from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import SHARE_PARAMETERS, SharedBoardApi
from api.exceptions import error_body
from api.export_options import EXPORT_PARAMETERS, export_options
from api.renderers import JSON_OR_MSGPACK, MSGPACK_MEDIA_TYPE
from api.schema import READ_ERRORS, errors
from api.serializers import ErrorSerializer
from api.throttles import PerCallerRateThrottle
from board.assets.store import asset_blobs_for_export
from board.conf import board_settings
from board.document import BoardState
from board.export import (
    ExportBusy,
    ExportOptionError,
    ExportSource,
    ExportTooLarge,
    ExportUnavailable,
    get_exporter,
)
from board.models import Board, Op
from board.oplog import ops_between
from board.selectors import board_state_at
from board.snapshots import head_and_snapshot

#: Ops per history page unless ?limit= says otherwise.
DEFAULT_OPS_LIMIT = 500
#: The most ops a client may ask for in a page. Bytes are bounded apart (HISTORY_PAGE_BYTES):
#: 5000 entries of up to 256 KiB each would be 1.25 GiB.
MAX_OPS_LIMIT = 5000

EXPORT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "json": "application/json"}
#: Retry-After of a 503 when every export worker is busy (seconds).
EXPORT_BUSY_RETRY_SECS = 10


class StateSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    elements = serializers.ListField(child=serializers.DictField())


def state_body(state: BoardState) -> dict[str, Any]:
    """
    Return the API form of a board state: {"seq", "elements"} in z-order.
    """
    return {"seq": state.seq, "elements": list(state.elements.values())}


class ExportJsonSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    seq = serializers.IntegerField()
    elements = serializers.ListField(child=serializers.DictField())
    assets = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text="When the board has images: {asset id: {mime, data (base64)}}.",
    )


class SeqQuerySerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(min_value=0, required=False)

    def validate_seq(self, value: int) -> int:
        board: Board = self.context["board"]
        if value > board.head_seq:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to the head seq {board.head_seq}."
            )
        return value


def _seq_param(request: Request, board: Board) -> int:
    query = SeqQuerySerializer(data=request.query_params, context={"board": board})
    query.is_valid(raise_exception=True)
    seq: int = query.validated_data.get("seq", board.head_seq)
    return seq


SEQ_PARAMETER = OpenApiParameter(
    "seq", OpenApiTypes.INT, description="A past seq (0..head_seq); default: the head."
)


class BoardStateApi(SharedBoardApi):
    """
    Read the board at its head or at a past `seq` (the history scrubber).
    """

    renderer_classes = JSON_OR_MSGPACK

    @extend_schema(
        tags=["history"],
        parameters=[SEQ_PARAMETER, *SHARE_PARAMETERS],
        responses={200: StateSerializer, **errors(400, *READ_ERRORS, 406)},
        summary="The board at a seq (JSON, or msgpack with Accept: application/msgpack)",
    )
    def get(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        seq = _seq_param(request, access.board)
        return Response(state_body(board_state_at(board=access.board, seq=seq)))


class OpsQuerySerializer(serializers.Serializer[Any]):
    after = serializers.IntegerField(min_value=0, required=False, default=0)
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_OPS_LIMIT, required=False, default=DEFAULT_OPS_LIMIT
    )


class OpsPageSerializer(serializers.Serializer[Any]):
    ops = serializers.ListField(
        child=serializers.DictField(), help_text="Wire entries: the op plus s, c, u."
    )
    next_after = serializers.IntegerField(
        help_text="Pass as ?after= for the next page. A page may hold fewer than `limit` ops "
        "(it stops before INKROOM_HISTORY_PAGE_BYTES of entries): the log ends at an empty page."
    )
    head_seq = serializers.IntegerField()


class BoardOpsApi(SharedBoardApi):
    """
    Page through the board's op log after a seq.
    """

    renderer_classes = JSON_OR_MSGPACK

    @extend_schema(
        tags=["history"],
        parameters=[OpsQuerySerializer, *SHARE_PARAMETERS],
        responses={200: OpsPageSerializer, **errors(400, *READ_ERRORS, 406)},
        summary="The op log after a seq (JSON, or msgpack with Accept: application/msgpack)",
    )
    def get(self, request: Request, board_id: str) -> Response | HttpResponse:
        access = self.board_access(request, board_id)
        query = OpsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        page = op_page(access.board, after, limit, board_settings().history_page_bytes)
        next_after = page[-1][0] if page else after
        # The board row was read before the ops: ops appended in between may pass its head.
        head_seq = max(access.board.head_seq, page[-1][0] if page else 0)
        if request.accepted_renderer.media_type == MSGPACK_MEDIA_TYPE:
            return HttpResponse(
                _packed_page(page, next_after, head_seq), content_type=MSGPACK_MEDIA_TYPE
            )
        ops = [msgpack.unpackb(payload) for _, payload in page]
        return Response({"ops": ops, "next_after": next_after, "head_seq": head_seq})


def op_page(board: Board, after: int, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
    """
    Up to `limit` stored (seq, entry bytes) after `after`, in seq order, holding at most
    `max_bytes` of entries, but always the first one (an entry above the bound is a page alone).

    The sizes are read first (PostgreSQL's length() of a bytea reads the stored header, not the
    value), then only the entries that fit: a page of 5000 entries of 256 KiB is never loaded
    to be cut. Entries up to a committed seq never change, so the two reads agree.
    """
    sizes = (
        Op.objects.filter(board_id=board.id, seq__gt=after)
        .order_by("seq")
        .annotate(size=Length("payload"))
        .values_list("seq", "size")[:limit]
    )
    last, total = None, 0
    for seq, size in sizes:
        if last is not None and total + size > max_bytes:
            break
        last, total = seq, total + size
    return [] if last is None else ops_between(board.id, after, last)


def _packed_page(page: list[tuple[int, bytes]], next_after: int, head_seq: int) -> bytes:
    """
    Pack {"ops": [...], "next_after", "head_seq"} splicing the stored entries in without decoding.
    """
    packer = msgpack.Packer()
    parts = [packer.pack_map_header(3), packer.pack("ops"), packer.pack_array_header(len(page))]
    parts.extend(payload for _, payload in page)
    parts += [packer.pack("next_after"), packer.pack(next_after)]
    parts += [packer.pack("head_seq"), packer.pack(head_seq)]
    return b"".join(parts)


class AnyMediaNegotiation(BaseContentNegotiation):
    """
    Exports are files: whatever the Accept header says, errors still render as JSON.
    """

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class ExportRateThrottle(PerCallerRateThrottle):
    """
    EXPORT_RATE exports per caller: the user, or the client IP for anonymous link holders.

    Counts live in Django's default cache, so they are per process unless CACHES is shared. The
    IP is DRF's `get_ident` (REMOTE_ADDR, or X-Forwarded-For with REST_FRAMEWORK NUM_PROXIES).
    """

    scope = "export"

    def get_rate(self) -> str | None:
        rate: str | None = board_settings().export_rate
        return rate


def export_source(board_id: str, seq: int, fmt: str = "svg") -> ExportSource:
    """
    Read the board at `seq` as stored bytes: the latest snapshot <= seq and the log after it,
    and the images they reference (for `fmt`: board.assets.store.asset_blobs_for_export).

    Only bytes: decoding a big board takes 100+ ms holding the GIL, so the worker does it.
    """
    _head, snapshot_seq, snapshot = head_and_snapshot(board_id, seq)
    tail = ops_between(board_id, snapshot_seq, seq) if snapshot_seq < seq else []
    ops = [payload for _seq, payload in tail]
    assets = asset_blobs_for_export(board_id=board_id, stored=[snapshot, *ops], fmt=fmt)
    return ExportSource(seq=seq, snapshot=snapshot, ops=ops, assets=assets)


def export_error(exc: ExportTooLarge | ExportUnavailable) -> Response:
    """
    The common error body for a refused export: 422 above the budget, 503 when unavailable.
    """
    body = error_body(exc.message, exc.code, dict(exc.extra))
    if isinstance(exc, ExportTooLarge):
        return Response(body, status=422)
    headers = {"Retry-After": str(EXPORT_BUSY_RETRY_SECS)} if isinstance(exc, ExportBusy) else {}
    return Response(body, status=503, headers=headers)


EXPORT_ERRORS = {
    422: OpenApiResponse(
        ErrorSerializer,
        description="`export_too_large`: the board is above the export budget for this format; "
        "`extra` has `glyphs`, `points` and `limit`.",
    ),
    429: OpenApiResponse(
        ErrorSerializer, description="`throttled`: too many exports; see `Retry-After`."
    ),
    503: OpenApiResponse(
        ErrorSerializer,
        description="`export_busy` (with `Retry-After`), `export_timeout` or "
        "`export_unavailable`: the export could not be rendered now.",
    ),
}


class BoardExportApi(SharedBoardApi):
    """
    Download the board, or a past seq of it, as SVG, PNG or JSON.
    """

    content_negotiation_class = AnyMediaNegotiation
    throttle_classes = [ExportRateThrottle]

    @extend_schema(
        tags=["export"],
        parameters=[
            OpenApiParameter(
                "fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(EXPORT_TYPES)
            ),
            SEQ_PARAMETER,
            *EXPORT_PARAMETERS,
            *SHARE_PARAMETERS,
        ],
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="SVG"),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="PNG"),
            (200, "application/json"): OpenApiResponse(
                ExportJsonSerializer, description="JSON: {version, seq, elements}"
            ),
            **errors(400, *READ_ERRORS),
            **EXPORT_ERRORS,
        },
        summary="Download the board (or a past seq) as SVG, PNG or JSON",
    )
    def get(self, request: Request, board_id: str, fmt: str) -> HttpResponse:
        access = self.board_access(request, board_id)
        seq = _seq_param(request, access.board)
        options = export_options(request)
        board_pk = access.board.pk
        try:
            body = get_exporter().export(
                board_pk, seq, fmt, lambda: export_source(board_pk, seq, fmt), options
            )
        except (ExportTooLarge, ExportUnavailable) as exc:
            return export_error(exc)
        except ExportOptionError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        response = HttpResponse(body, content_type=EXPORT_TYPES[fmt])
        name = slugify(access.board.title) or "board"
        response["Content-Disposition"] = f'attachment; filename="{name}-{seq}.{fmt}"'
        return response
