"""
The ASGI application: Django for HTTP, the realtime stack for WebSockets, and lifespan.

HTTP goes through BodyLimitMiddleware first (config/limits.py): an oversized body is refused
with a JSON 413 before Django reads it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before the realtime stack imports models.
django_asgi_app = get_asgi_application()

from config.limits import BodyLimitMiddleware  # noqa: E402
from realtime.asgi.routing import build_application  # noqa: E402

application = build_application(BodyLimitMiddleware(django_asgi_app))
