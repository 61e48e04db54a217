"""
The API's one error vocabulary: every error answers {"message", "code", "extra"}.

Domain errors (board.exceptions.BoardError) map by class to a status; DRF's own errors keep their
status and code; validation errors add the field messages under "errors", and every other 400
(`parse_error`, a domain `invalid_op`) carries its message there too, under "non_field_errors",
so a client reads one shape for every 400 (the schema's ValidationError). Oversized bodies become
a JSON 413 instead of Django's HTML 400 for SuspiciousOperation.

Outside DRF's views, under /api/: unknown paths (and ids beyond a bigint, see api/urls.py) answer
`not_found` from `api_not_found`, and Django's own 400 and 500 pages become JSON
(`bad_request`, `server_error`, wired in config/urls.py); elsewhere Django's pages stay.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from board.exceptions import (
    BoardError,
    BoardNotFound,
    ImageRejected,
    ImageTooLarge,
    ImageTooManyPixels,
    ImageUnreadable,
    NotAllowed,
    OpRejected,
    ShareLinkGone,
)

logger = logging.getLogger(__name__)

#: Most specific class first: BoardFull is an OpRejected, ImageTooLarge an ImageRejected.
_BOARD_ERROR_STATUS: tuple[tuple[type[BoardError], int], ...] = (
    (BoardNotFound, status.HTTP_404_NOT_FOUND),
    (ShareLinkGone, status.HTTP_410_GONE),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (OpRejected, status.HTTP_400_BAD_REQUEST),
    (ImageTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (ImageTooManyPixels, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (ImageUnreadable, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (ImageRejected, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
)


class RequestTooLarge(exceptions.APIException):
    """
    The request body is above settings.DATA_UPLOAD_MAX_MEMORY_SIZE.
    """

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def error_body(message: str, code: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    Return the JSON body every API error uses.
    """
    return {"message": message, "code": code, "extra": extra or {}}


def with_errors(body: dict[str, Any]) -> dict[str, Any]:
    """
    Give a 400 body without field messages its message under errors.non_field_errors.
    """
    body.setdefault("errors", {api_settings.NON_FIELD_ERRORS_KEY: [body["message"]]})
    return body


def _board_error_response(exc: BoardError) -> Response:
    # Any other BoardError (e.g. board.export.ExportError) is the server's fault.
    code: int = status.HTTP_500_INTERNAL_SERVER_ERROR
    for cls, mapped in _BOARD_ERROR_STATUS:
        if isinstance(exc, cls):
            code = mapped
            break
    if code >= 500:
        logger.error("unmapped domain error %s: %s", exc.code, exc.message, exc_info=exc)
    set_rollback()
    body = error_body(exc.message, exc.code, dict(exc.extra))
    return Response(with_errors(body) if code == 400 else body, status=code)


def _detail_code(detail: Any, fallback: str) -> str:
    code = getattr(detail, "code", None)
    return str(code) if code else fallback


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """
    DRF's EXCEPTION_HANDLER: reshape every handled error into the common body.
    """
    if isinstance(exc, BoardError):
        return _board_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("Invalid input.", "invalid")
        detail = response.data
        body["errors"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = body
        return response
    default_code = getattr(exc, "default_code", "error")
    detail = getattr(exc, "detail", None)
    if isinstance(detail, (list, dict)):
        # Only ValidationError carries structured details among DRF's own exceptions.
        response.data = {**error_body("Invalid input.", default_code), "errors": detail}
    else:
        response.data = error_body(str(detail), _detail_code(detail, default_code))
        if response.status_code == status.HTTP_400_BAD_REQUEST:
            response.data = with_errors(response.data)
    return response


def _slash_hint(request: HttpRequest) -> str:
    # CommonMiddleware's APPEND_SLASH redirect never fires under /api/ (the catch-all below
    # matches every path), and a redirect would drop a POST's body anyway: say it instead.
    path = request.path_info
    if path.endswith("/"):
        return ""
    try:
        match = resolve(f"{path}/")
    except Resolver404:
        return ""
    return "" if match.func is api_not_found else f" API paths end with a slash: {path}/"


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """
    The last route under /api/: a JSON 404 for a path no endpoint has, whatever the method.

    Exempt from CSRF so that an unsafe method answers 404 rather than the CSRF failure page.
    """
    body = error_body(f"Not found.{_slash_hint(request)}", "not_found")
    return _json(body, status.HTTP_404_NOT_FOUND)


def _json(body: dict[str, Any], status_code: int) -> JsonResponse:
    # Compact, like DRF's JSONRenderer, so every API error reads the same.
    return JsonResponse(body, status=status_code, json_dumps_params={"separators": (",", ":")})


def _under_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """
    handler400: Django's own 400s (e.g. a Host not in ALLOWED_HOSTS) as JSON under /api/.
    """
    if not _under_api(request):
        return defaults.bad_request(request, exception)
    body = with_errors(error_body("Bad request.", "bad_request"))
    return _json(body, status.HTTP_400_BAD_REQUEST)


def server_error(request: HttpRequest) -> HttpResponse:
    """
    handler500: an unhandled exception (a bug, already logged by Django) as JSON under /api/.
    """
    if not _under_api(request):
        return defaults.server_error(request)
    body = error_body("Internal server error.", "server_error")
    return _json(body, status.HTTP_500_INTERNAL_SERVER_ERROR)
