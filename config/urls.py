"""
Root URL configuration: the API, health probes, metrics and the browser client.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("realtime.urls")),
    path("", include("frontend.urls")),
]
