"""
The base of every board-scoped API view: authentication order, body limit, and board access.

A board is looked up once per request through board.selectors.board_get_for_user with the share
token the caller presents (header `X-Share-Token` or query `?share=`). Callers without a role get
404; anonymous callers without a role get 401 instead (whether or not the board exists), which
tells a browser to sign in without revealing anything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.views import APIView

from api.exceptions import RequestTooLarge
from board.exceptions import BoardNotFound
from board.models import Role
from board.selectors import BoardAccess, board_get_for_user

SHARE_HEADER = "X-Share-Token"
SHARE_QUERY = "share"

#: Documented on every endpoint that anonymous share-link holders may call.
SHARE_PARAMETERS = [
    OpenApiParameter(
        SHARE_QUERY,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Share-link token (alternative to the X-Share-Token header).",
    ),
    OpenApiParameter(
        SHARE_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Share-link token granting the link's role, also to anonymous callers.",
    ),
]


def share_token_from(request: Request) -> str | None:
    """
    Return the share-link token the caller presents, header first.
    """
    token = request.headers.get(SHARE_HEADER) or request.query_params.get(SHARE_QUERY)
    return token or None


class InkroomApi(APIView):
    """
    Token before session, so a missing credential answers 401 with `WWW-Authenticate: Token`
    (DRF takes the challenge from the first class; SessionAuthentication has none and would
    turn every 401 into a 403). Oversized bodies are refused before parsing.
    """

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # DRF parses from the raw stream, bypassing Django's DATA_UPLOAD_MAX_MEMORY_SIZE check.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self.body_limit()
        if limit is not None and length > limit:
            raise RequestTooLarge(f"Request body of {length} bytes is above {limit} bytes.")
        super().initial(request, *args, **kwargs)

    def body_limit(self) -> int | None:
        """
        The largest body this view reads, bytes (None: no limit).
        """
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return limit


class BoardApi(InkroomApi):
    """
    A view under /boards/{board_id}/; `minimum_role` maps an HTTP method to the role it needs.
    """

    #: Method -> minimum role; methods not listed need any role.
    minimum_role: dict[str, Role] = {}
    #: What the refused action is called in a 403 message, by method.
    action_names: dict[str, str] = {}

    def board_access(self, request: Request, board_id: str) -> BoardAccess:
        """
        Return the caller's board and role, enforcing this view's minimum role.
        """
        try:
            access = board_get_for_user(
                board_id=board_id, user=request.user, share_token=share_token_from(request)
            )
        except BoardNotFound:
            if not request.user.is_authenticated:
                raise exceptions.NotAuthenticated() from None
            raise
        minimum = self.minimum_role.get(request.method or "GET")
        if minimum is not None:
            access.require(minimum, self.action_names.get(request.method or "GET", "do this"))
        return access


class SharedBoardApi(BoardApi):
    """
    A board view that anonymous share-link holders and link-access visitors may read (GET only).
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
