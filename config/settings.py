"""
Django settings, all read from the environment through config.env.

Production differs from a laptop only through environment variables: DATABASE_URL (default: a
SQLite file under var/), REDIS_URL (unset: the in-memory channel layer and a per-process cache,
one process only; several comma-separated URLs: the channel layer's shards), SECRET_KEY
(required unless DEBUG), ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, DEBUG, the HTTPS settings
(SECURE_HSTS_*, TRUSTED_PROXY_COUNT), METRICS_PORT and the INKROOM_* limits documented in
README.md, docs/operations.md and docs/protocol.md.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_overrides,
    env_rate,
    env_redis_urls,
    env_required,
    env_str,
)
from config.secret_key import development_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("INKROOM_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# Production must set SECRET_KEY. A DEBUG install without one gets a random key of its own, kept
# in VAR_DIR/secret_key (config/secret_key.py): a fixed key in the source let anyone sign socket
# tickets for a reachable DEBUG server (issue 15, finding 12).
SECRET_KEY = (
    env_str("SECRET_KEY") or development_secret_key(VAR_DIR)
    if DEBUG
    else env_required("SECRET_KEY")
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "board",
    "api",
    "realtime",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise: its static files are not HTML, but a 404 page behind it may be.
    "config.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check: a forged or token-less login POST is an attempt like any other.
    "api.throttles.AdminLoginThrottleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'inkroom.sqlite3'}"
if env_str("DB_CONN_MAX_AGE") is not None:
    # Persistent connections were per thread, and under ASGI every request runs in a thread of
    # its own: a process ended up holding one connection per request served recently, not per
    # request in flight (issue 18). Fail loudly rather than let an old ConfigMap look obeyed.
    raise ImproperlyConfigured(
        "DB_CONN_MAX_AGE is no longer read: PostgreSQL connections come from a pool per process "
        "(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE, DB_POOL_TIMEOUT). Unset it."
    )
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or _DEFAULT_SQLITE,
        # A connection goes back to the pool at the end of each request and each hub reader job (the
        # hub's writer keeps one between ticks: realtime/engine/store.py); the pool, not the thread,
        # keeps it open. Django refuses a pool with CONN_MAX_AGE != 0.
        conn_max_age=0,
        # With a pool this becomes the pool's check on checkout (one empty query), so a
        # connection broken by a database restart is replaced instead of failing a request.
        conn_health_checks=True,
    )
}
#: Connections per process, whatever the number of threads: Hypercorn's request threads, the
#: hub's writer and two readers (realtime.engine.hub) and the probes all borrow from this one pool.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 2)
if not 0 <= DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE or DB_POOL_MAX_SIZE < 1:
    raise ImproperlyConfigured(
        f"Need 0 <= DB_POOL_MIN_SIZE ({DB_POOL_MIN_SIZE}) <= DB_POOL_MAX_SIZE "
        f"({DB_POOL_MAX_SIZE}) and DB_POOL_MAX_SIZE >= 1."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DB_POOL_MIN_SIZE,
        "max_size": DB_POOL_MAX_SIZE,
        # How long a request or hub job waits for a free connection before failing (500 /
        # `unavailable`). A burst queues here instead of opening connections; while the
        # database is down, the hub's tick waits this long too.
        "timeout": env_float("DB_POOL_TIMEOUT", 5.0),
        # After a failed connect the pool retries 1, 2, 4 s ... later, until this long has
        # passed; then the next checkout starts over at once. The default (5 min) let a 2 s
        # outage cost up to 5 s more of waiting after the database was back.
        "reconnect_timeout": 2.0,
        "name": "inkroom",
    }
    # Nothing here streams a queryset (.iterator()), and a named cursor outlives the transaction
    # that PgBouncer's transaction pooling lends a server connection for (docs/operations.md).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so the op-log writer and API writes serialise
    # instead of failing with "database is locked" on lock upgrade; WAL lets readers continue.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

#: One Redis URL, or several separated by commas: the channel layer's shards (docs/capacity.md),
#: listed in the same order by every process. The cache lives on the first.
REDIS_URLS = env_redis_urls("REDIS_URL")
REDIS_URL = REDIS_URLS[0] if REDIS_URLS else None
if REDIS_URLS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.channel_layer.ShardedRedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, the same as channels-redis's
                # BZPOPMIN timeout, so an idle receive() raised TimeoutError every 5 s
                # (channels_redis#422) and /readyz flapped; the read timeout must exceed it.
                "hosts": [
                    {
                        "address": url,
                        "socket_timeout": env_float("CHANNEL_LAYER_SOCKET_TIMEOUT_SECS", 15.0),
                    }
                    for url in REDIS_URLS
                ],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "inkroom") or "inkroom",
                # One message per process per tick travels through the layer (realtime.engine.hub),
                # so 1000 is ~20 s of backlog; anything dropped beyond it is recovered from the log.
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                "expiry": env_int("CHANNEL_LAYER_EXPIRY_SECS", 10),
                # Hubs re-join the pods group every 15 s, so a killed process drops out of the
                # fan-out within a minute instead of the default day.
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY_SECS", 60),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds the throttles' counters (api/throttles.py, the export rate): in Redis so that
# every process counts together, else in this process's memory. Its keys share the channel
# layer's database (the first shard's), under the deployment's prefix; config/cache.py keeps clear()
# to these keys and counts in memory while Redis is unreachable. Only the first URL: RedisCache
# would take the others for read replicas of it.
CACHE_KEY_PREFIX = f"{env_str('CHANNEL_LAYER_PREFIX', 'inkroom') or 'inkroom'}-cache"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                # A sign-in waits on the cache: fail over fast rather than hang on a dead Redis.
                "socket_connect_timeout": 1.0,
                "socket_timeout": 1.0,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/login/"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS (SecurityMiddleware sends it on HTTPS requests only, i.e. X-Forwarded-Proto: https from
# the Ingress). Off by default: a browser that saw it refuses plain HTTP for that long, which a
# laptop or a dev cluster without TLS must not teach it; the prod overlay sets a year.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# How many proxies in front of the process append to X-Forwarded-For (the Ingress: 1). The
# throttles count the address that many entries from the end; 0 counts REMOTE_ADDR and ignores
# the header, which any client can write (DRF's own default trusted the whole header).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} is below 0.")

# /metrics (realtime/server/views.py): on METRICS_PORT only, when it is set (a listener of its own
# that no Service or Ingress routes to); otherwise to clients in METRICS_ALLOWED_NETWORKS that did
# not come through a proxy. Everyone else gets 404.
METRICS_PORT = env_int("METRICS_PORT", 0) or None
if METRICS_PORT is not None and env_int("PORT", 8000) == METRICS_PORT and not env_str("BIND"):
    raise ImproperlyConfigured(f"METRICS_PORT={METRICS_PORT} must differ from PORT.")
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])

# Bodies above this are refused (413 from the API); big boards travel as ops, not one request.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("INKROOM_MAX_BODY_BYTES", 2 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's defaults with a JSON parser that refuses lone surrogates anywhere in a body (400).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.TextJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # The client IP of throttles (api/throttles.py, the export rate); see TRUSTED_PROXY_COUNT.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # Throttle scopes of api/throttles.py; None (the variable set empty) means no limit.
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_rate("INKROOM_LOGIN_RATE_IP", "30/min"),
        "login_username": env_rate("INKROOM_LOGIN_RATE_USERNAME", "10/min"),
        "signup_ip": env_rate("INKROOM_SIGNUP_RATE_IP", "20/hour"),
    },
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inkroom API",
    "DESCRIPTION": "Boards, members, share links, snapshots, history and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Ids in API paths (api/urls.py IdConverter: at most 2**63 - 1, larger is a 404) are bigints.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}
    },
    # Swagger UI served from our own static files, not a CDN (works offline, no third party).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Two choice sets share the field name "role": a board role and the grantable subset.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "board.models.Role",
        "GrantableRoleEnum": "api.members.GRANTABLE_ROLES",
    },
}

# App knobs: the INKROOM_* variables that are set, keyed without the prefix. Their defaults live
# with what reads them: the board's in board.conf, the socket server's in realtime.conf.
INKROOM = env_overrides(
    "INKROOM_",
    ints=[
        "TICK_MS",
        "MAX_FRAME_BYTES",
        "MAX_OPS_PER_FRAME",
        "MAX_POINTS_PER_OP",
        "MAX_POINTS_PER_STROKE",
        "MAX_ELEMENTS",
        "CURSOR_MS",
        "GAP_WAIT_MS",
        "SNAPSHOT_CATCHUP_OPS",
        "CATCHUP_FRAME_OPS",
        "SEND_QUEUE_FRAMES",
        "SEND_QUEUE_BYTES",
        "SNAPSHOT_EVERY_OPS",
        "SNAPSHOT_EVERY_SECS",
        "SOCKET_TICKET_SECS",
        "MAX_SOCKETS_PER_USER_BOARD",
        "MAX_SOCKETS_PER_USER",
        "MAX_SOCKETS_PER_BOARD",
        "MAX_BOARD_POINTS",
        "MAX_BOARD_TEXT_CHARS",
        "EXPORT_WORKERS",
        "EXPORT_MEMORY_MB",
        "EXPORT_MAX_GLYPHS",
        "EXPORT_MAX_POINTS",
        "EXPORT_CACHE_BYTES",
        "HISTORY_PAGE_BYTES",
        "MAX_IMAGE_BYTES",
        "MAX_IMAGE_PIXELS",
        "ASSET_GC_GRACE_SECS",
    ],
    floats=[
        "FLUSH_IDLE_CPU",
        "OPS_PER_SEC",
        "OPS_BURST",
        "BYTES_PER_SEC",
        "BYTES_BURST",
        "DRAIN_SECS",
        "EXPORT_TIMEOUT_SECS",
    ],
    rates=["EXPORT_RATE", "SNAPSHOT_RATE", "IMAGE_UPLOAD_RATE"],
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # psycopg_pool logs every checkout and return at INFO: thousands of lines a second.
        "psycopg.pool": {"level": "WARNING"},
        "hypercorn.access": {"level": env_str("ACCESS_LOG_LEVEL", "WARNING")},
    },
}
