"""
The API's routes: /api/v1/... plus the OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/).

Every other path under /api/ ends at `api_not_found`, a JSON 404 (Django's is an HTML page).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import assets, auth, boards, history, members, snapshots, thumbnails, timeline
from api.exceptions import api_not_found

#: The largest id a route takes: PostgreSQL's bigint (ids are BigAutoField).
MAX_ID = 2**63 - 1


class IdConverter:
    """
    A database id in a path: ASCII digits, at most MAX_ID; a larger number matches no route.

    Django's `int` converter takes any number of digits, and a view then queried with a number
    no database column holds: SQLite cannot bind it (OverflowError, a 500; issue 15, finding 8).
    Refused here (ValueError means "no match"), such a path ends at the JSON 404 of
    api_not_found before any view code runs, on every database.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is above the largest id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class ExportFormatConverter:
    """
    The export formats, so an unknown one is a 404 before any view code runs.
    """

    regex = "svg|png|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class Sha256Converter:
    """
    An asset id: 64 lower-case hex digits (anything else is the JSON 404 of api_not_found).
    """

    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormatConverter, "export_fmt")
register_converter(Sha256Converter, "sha256")
register_converter(IdConverter, "id")

board_urls: list[URLPattern | URLResolver] = [
    path("", boards.BoardDetailApi.as_view(), name="board-detail"),
    path("socket-ticket/", boards.SocketTicketApi.as_view(), name="board-socket-ticket"),
    path("members/", members.MemberListApi.as_view(), name="board-members"),
    path("members/<id:user_id>/", members.MemberDetailApi.as_view(), name="board-member"),
    path("share-links/", members.ShareLinkListApi.as_view(), name="board-share-links"),
    path(
        "share-links/<id:link_id>/", members.ShareLinkDetailApi.as_view(), name="board-share-link"
    ),
    path("snapshots/", snapshots.SnapshotListApi.as_view(), name="board-snapshots"),
    path(
        "snapshots/<id:snapshot_id>/",
        snapshots.SnapshotDetailApi.as_view(),
        name="board-snapshot",
    ),
    path(
        "snapshots/<id:snapshot_id>/state/",
        snapshots.SnapshotStateApi.as_view(),
        name="board-snapshot-state",
    ),
    path(
        "snapshots/<id:snapshot_id>/restore/",
        snapshots.SnapshotRestoreApi.as_view(),
        name="board-snapshot-restore",
    ),
    path("state/", history.BoardStateApi.as_view(), name="board-state"),
    path("ops/", history.BoardOpsApi.as_view(), name="board-ops"),
    path("history/", timeline.BoardHistoryApi.as_view(), name="board-history"),
    path("thumbnail/", thumbnails.BoardThumbnailApi.as_view(), name="board-thumbnail"),
    path("export/<export_fmt:fmt>/", history.BoardExportApi.as_view(), name="board-export"),
    path("assets/", assets.AssetListApi.as_view(), name="board-assets"),
    path("assets/<sha256:sha>/", assets.AssetDetailApi.as_view(), name="board-asset"),
]

v1_urls: list[URLPattern | URLResolver] = [
    path("auth/signup/", auth.SignupApi.as_view(), name="auth-signup"),
    path("auth/login/", auth.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", auth.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", auth.MeApi.as_view(), name="auth-me"),
    path("auth/csrf/", auth.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/token/", auth.TokenApi.as_view(), name="auth-token"),
    path("boards/", boards.BoardListApi.as_view(), name="boards"),
    path("boards/<str:board_id>/", include(board_urls)),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include(v1_urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Last: whatever no route above takes, whatever the method.
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]
