"""
Board-list thumbnails: a small PNG of the board at its head, rendered like exports (in an export
worker, in the exports' cache) and revalidated by ETag.

The picture depends only on the board's head seq, so the ETag is that seq and a revalidation
costs the board lookup alone: the browser asks again on every list view and mostly gets 304.
No rate limit beyond the exports' pool: a board renders at most once per head per process, so
new renders come no faster than edits do. Thumbnails wait behind exports for a worker and leave
one to them (board.export.slots): a page of thumbnails never holds up a download.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from api.base import SHARE_PARAMETERS, SharedBoardApi
from api.history import EXPORT_ERRORS, AnyMediaNegotiation, export_error, export_source
from api.schema import READ_ERRORS, errors
from board.export import ExportTooLarge, ExportUnavailable, get_exporter

#: Part of the ETag: bump it when thumbnails are drawn differently, so browsers fetch anew.
THUMBNAIL_VERSION = 1


class BoardThumbnailApi(SharedBoardApi):
    """
    The board at its head as a 320 x 200 PNG (for the board list), to anyone with a role.
    """

    content_negotiation_class = AnyMediaNegotiation

    @extend_schema(
        tags=["export"],
        parameters=SHARE_PARAMETERS,
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="PNG"),
            304: OpenApiResponse(description="Unchanged since the ETag in If-None-Match."),
            **errors(*READ_ERRORS),
            422: EXPORT_ERRORS[422],
            503: EXPORT_ERRORS[503],
        },
        summary="A 320 x 200 PNG of the board at its head, with an ETag",
    )
    def get(self, request: Request, board_id: str) -> HttpResponse:
        access = self.board_access(request, board_id)
        board_pk, seq = access.board.pk, access.board.head_seq
        etag = f'"t{THUMBNAIL_VERSION}-{seq}"'
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            response = HttpResponse(status=304)
        else:
            try:
                body = get_exporter().export(
                    board_pk, seq, "thumb", lambda: export_source(board_pk, seq, "thumb")
                )
            except (ExportTooLarge, ExportUnavailable) as exc:
                return export_error(exc)
            response = HttpResponse(body, content_type="image/png")
        response["ETag"] = etag
        # Private: what a caller may see depends on their role. no-cache: ask every time, as
        # the head may have moved; the ETag makes that cheap.
        patch_cache_control(response, private=True, no_cache=True)
        return response
