"""
The API's one error vocabulary: every error answers {"message", "code", "extra"}.

Domain errors (board.exceptions.BoardError) map by class to a status; DRF's own errors keep their
status and code; validation errors add the field messages under "errors". Oversized bodies become
a JSON 413 instead of Django's HTML 400 for SuspiciousOperation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from board.exceptions import BoardError, BoardNotFound, NotAllowed, OpRejected

logger = logging.getLogger(__name__)

#: Most specific class first: BoardFull is an OpRejected.
_BOARD_ERROR_STATUS: tuple[tuple[type[BoardError], int], ...] = (
    (BoardNotFound, status.HTTP_404_NOT_FOUND),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (OpRejected, status.HTTP_400_BAD_REQUEST),
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
    return Response(error_body(exc.message, exc.code, dict(exc.extra)), status=code)


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
    return response
