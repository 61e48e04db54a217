from __future__ import annotations


def build_application(django_asgi_app):  # placeholder replaced by the realtime engine
    return django_asgi_app
