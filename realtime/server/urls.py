"""
Routes of the process probes and the Prometheus scrape endpoint.

No trailing slashes: probes and scrapers are configured with these exact paths, and
CommonMiddleware's APPEND_SLASH redirect would turn a typo into a 301 that probes follow silently.
"""

from __future__ import annotations

from django.urls import path

from realtime.server import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
