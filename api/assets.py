"""
Image assets of a board: upload (editors), copy from another board (editors), download (any
role, share-link holders included).

Uploads arrive as the raw body (any Content-Type: the type is judged from the bytes) or as a
multipart form's `file`; a JSON body {"copy_from": sha} links an asset the caller can read on
another board instead (an image pasted across boards). The body bound is the image bound, not
the API's general one. Downloads are immutable (the URL names the bytes' hash), so browsers keep
them for a year and revalidate with the hash as ETag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import IO, Any

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.parsers import BaseParser, DataAndFiles, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import SHARE_PARAMETERS, SharedBoardApi
from api.history import AnyMediaNegotiation
from api.parsers import TextJSONParser
from api.schema import READ_ERRORS, errors
from api.serializers import ErrorSerializer
from api.throttles import PerCallerRateThrottle
from board.assets import AssetInfo, asset_copy, asset_get_for_board, asset_linked, asset_upload
from board.conf import board_settings
from board.exceptions import ImageTooLarge
from board.models import Role

#: Room for a multipart envelope (boundaries, part headers) around the largest image.
MULTIPART_SLACK_BYTES = 64 * 1024
#: A year: the URL names the bytes, so they never change.
IMMUTABLE_MAX_AGE_SECS = 365 * 24 * 3600


class RawImageParser(BaseParser):
    """
    Any other body: the file itself, read up to one byte past the image bound.
    """

    media_type = "*/*"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles[Any, Any]:
        data: bytes = stream.read(board_settings().max_image_bytes + 1)
        return DataAndFiles(data, MultiValueDict())


class AssetSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="SHA-256 of the bytes, hex: an image element's `asset`.")
    mime = serializers.CharField(help_text="Sniffed from the bytes.")
    width = serializers.IntegerField(help_text="Pixels, EXIF orientation applied.")
    height = serializers.IntegerField()
    bytes = serializers.IntegerField()


class CopySerializer(serializers.Serializer[Any]):
    copy_from = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        help_text="An asset the caller can read on another board: link it to this one.",
    )


def _body(info: AssetInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "mime": info.mime,
        "width": info.width,
        "height": info.height,
        "bytes": info.bytes,
    }


UPLOAD_ERRORS = {
    **errors(400, *READ_ERRORS),
    413: OpenApiResponse(
        ErrorSerializer, description="`image_too_large` (or `too_large`): above the byte limit."
    ),
    415: OpenApiResponse(
        ErrorSerializer, description="`unsupported_image`: not PNG, JPEG, GIF or WebP."
    ),
    422: OpenApiResponse(
        ErrorSerializer,
        description="`image_too_many_pixels` (above the pixel limit, an animation's frames "
        "counted) or `invalid_image` (does not decode).",
    ),
    429: OpenApiResponse(
        ErrorSerializer, description="`throttled`: too many uploads; see `Retry-After`."
    ),
}


class ImageUploadThrottle(PerCallerRateThrottle):
    """
    IMAGE_UPLOAD_RATE uploads per caller: the user, or the client IP for anonymous link holders.

    Counts live in Django's default cache (Redis when REDIS_URL is set: every process counts
    together). Spent once the caller may upload to the board, before the image is read: a refused
    caller costs nothing, an image that turns out invalid still counts (its decoding did).
    """

    scope = "image_upload"

    def get_rate(self) -> str | None:
        rate: str | None = board_settings().image_upload_rate
        return rate


def spend_upload_rate(view: APIView, request: Request) -> None:
    """
    Count one upload of the caller; raise Throttled (429, Retry-After) past the rate.
    """
    throttle = ImageUploadThrottle()
    if not throttle.allow_request(request, view):
        wait = throttle.wait()
        seconds = max(1, math.ceil(wait or 1))
        raise Throttled(wait=wait, detail=f"Too many images uploaded: try again in {seconds} s.")


class AssetListApi(SharedBoardApi):
    """
    Add an image to the board's assets.
    """

    parser_classes = [TextJSONParser, MultiPartParser, RawImageParser]
    minimum_role = {"POST": Role.EDITOR}
    action_names = {"POST": "upload images"}

    def body_limit(self) -> int | None:
        return board_settings().max_image_bytes + MULTIPART_SLACK_BYTES

    @extend_schema(
        tags=["assets"],
        parameters=SHARE_PARAMETERS,
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "application/octet-stream": OpenApiTypes.BINARY,
            "application/json": CopySerializer,
        },
        responses={
            201: OpenApiResponse(AssetSerializer, description="Stored for the first time."),
            200: OpenApiResponse(AssetSerializer, description="Already stored: now linked."),
            **UPLOAD_ERRORS,
        },
        summary="Upload an image (raw body or multipart `file`), or copy one from another board",
    )
    def post(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        data = request.data
        upload = None if isinstance(data, bytes) else request.FILES.get("file")
        if isinstance(data, bytes) or upload is not None:
            spend_upload_rate(self, request)
        if isinstance(data, bytes):
            info, created = asset_upload(board=access.board, data=data)
            return Response(_body(info), status=201 if created else 200)
        if upload is not None:
            limit = board_settings().max_image_bytes
            if upload.size is not None and upload.size > limit:
                raise ImageTooLarge(
                    f"The image is {upload.size:,} bytes, above the limit of {limit:,}.",
                    extra={"bytes": upload.size, "limit": limit},
                )
            info, created = asset_upload(board=access.board, data=upload.read(limit + 1))
            return Response(_body(info), status=201 if created else 200)
        if isinstance(data, Mapping) and "copy_from" in data:
            copy = CopySerializer(data=data)
            copy.is_valid(raise_exception=True)
            sha = copy.validated_data["copy_from"]
            info = asset_copy(board=access.board, user=request.user, sha=sha)
            return Response(_body(info))
        raise serializers.ValidationError(
            {"file": ['Send the image as the body, as a multipart `file`, or {"copy_from"}.']}
        )


class AssetDetailApi(SharedBoardApi):
    """
    An image of the board, or its preview.
    """

    content_negotiation_class = AnyMediaNegotiation

    @extend_schema(
        tags=["assets"],
        parameters=[
            OpenApiParameter(
                "preview",
                OpenApiTypes.INT,
                enum=[0, 1],
                description="1: a copy at most 512 px a side (PNG or JPEG).",
            ),
            *SHARE_PARAMETERS,
        ],
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image."),
            304: OpenApiResponse(description="Unchanged (If-None-Match)."),
            **errors(*READ_ERRORS),
        },
        summary="Download an image of the board (immutable; any role, share links included)",
    )
    def get(self, request: Request, board_id: str, sha: str) -> HttpResponse:
        access = self.board_access(request, board_id)
        preview = request.query_params.get("preview") == "1"
        etag = f'"{sha}{"-p" if preview else ""}"'
        if etag in parse_etags(request.headers.get("If-None-Match", "")) and asset_linked(
            board=access.board, sha=sha
        ):
            response = HttpResponse(status=304)
        else:
            body, mime = asset_get_for_board(board=access.board, sha=sha, preview=preview)
            response = HttpResponse(body, content_type=mime)
            response["Content-Disposition"] = "inline"
            # An image is never a document: nothing in it may run if opened directly.
            response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["ETag"] = etag
        # Private: who may see it depends on their role on the board.
        patch_cache_control(response, private=True, max_age=IMMUTABLE_MAX_AGE_SECS, immutable=True)
        return response
