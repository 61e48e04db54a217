"""
Root URL configuration: the API, health probes, metrics and the browser client.

Django's own 400 and 500 answers are JSON under /api/ (api.exceptions), HTML pages elsewhere;
unknown paths under /api/ end at the API's own JSON 404 route (api/urls.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("realtime.server.urls")),
    path("", include("frontend.urls")),
]

handler400 = "api.exceptions.bad_request"
handler500 = "api.exceptions.server_error"
