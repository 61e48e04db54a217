"""
OpenAPI helpers: the error responses each endpoint documents, so the schema matches reality.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from api.serializers import ErrorSerializer, ValidationErrorSerializer

_DESCRIPTIONS = {
    400: "Invalid input (field messages under `errors`).",
    401: "Not authenticated.",
    403: "Authenticated, but the role does not allow this (or the CSRF check failed).",
    404: "No such board, or not visible to the caller.",
    406: "The Accept header names no media type this endpoint renders.",
    410: "The share link presented was the only way in, and it expired or was revoked "
    "(`share_link_expired`, `share_link_revoked`).",
    413: "Request body too large.",
    415: "Unsupported request media type.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """
    Return documented error responses for `statuses` (413 and 415 are added to writes by callers).
    """
    return {
        code: OpenApiResponse(
            response=ValidationErrorSerializer if code == 400 else ErrorSerializer,
            description=_DESCRIPTIONS[code],
        )
        for code in statuses
    }


#: Errors any authenticated board read can answer.
READ_ERRORS = (401, 403, 404, 410)
#: Errors any authenticated board write can answer.
WRITE_ERRORS = (400, 401, 403, 404, 410, 413, 415)
