"""
Minimal Django settings for the Channels-docs reference server (no database, no Inkroom apps).

The channel layer is in-memory by default (one process, no network hop: the most favourable
layer for this pattern); BENCH_REF_REDIS_URL switches to channels_redis' core layer.
"""

from __future__ import annotations

import os

SECRET_KEY = "inkroom-bench-reference"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
DATABASES: dict[str, dict[str, str]] = {}
ASGI_APPLICATION = "bench.reference.asgi.application"
USE_TZ = True

_REDIS = os.environ.get("BENCH_REF_REDIS_URL")
if _REDIS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_REDIS], "prefix": "inkroom-bench-ref"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
