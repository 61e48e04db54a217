"""
The API's routes: /api/v1/... plus the OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import auth, boards, history, members, snapshots


class ExportFormatConverter:
    """
    The export formats, so an unknown one is a 404 before any view code runs.
    """

    regex = "svg|png|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormatConverter, "export_fmt")

board_urls: list[URLPattern | URLResolver] = [
    path("", boards.BoardDetailApi.as_view(), name="board-detail"),
    path("socket-ticket/", boards.SocketTicketApi.as_view(), name="board-socket-ticket"),
    path("members/", members.MemberListApi.as_view(), name="board-members"),
    path("members/<int:user_id>/", members.MemberDetailApi.as_view(), name="board-member"),
    path("share-links/", members.ShareLinkListApi.as_view(), name="board-share-links"),
    path(
        "share-links/<int:link_id>/", members.ShareLinkDetailApi.as_view(), name="board-share-link"
    ),
    path("snapshots/", snapshots.SnapshotListApi.as_view(), name="board-snapshots"),
    path(
        "snapshots/<int:snapshot_id>/",
        snapshots.SnapshotDetailApi.as_view(),
        name="board-snapshot",
    ),
    path(
        "snapshots/<int:snapshot_id>/state/",
        snapshots.SnapshotStateApi.as_view(),
        name="board-snapshot-state",
    ),
    path(
        "snapshots/<int:snapshot_id>/restore/",
        snapshots.SnapshotRestoreApi.as_view(),
        name="board-snapshot-restore",
    ),
    path("state/", history.BoardStateApi.as_view(), name="board-state"),
    path("ops/", history.BoardOpsApi.as_view(), name="board-ops"),
    path("export/<export_fmt:fmt>/", history.BoardExportApi.as_view(), name="board-export"),
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
]
