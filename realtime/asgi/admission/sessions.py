"""
Reading many sessions at once for an admission batch, and checking them as Django's get_user does.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.cache import caches
from django.utils import timezone
from django.utils.crypto import constant_time_compare

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_SESSION_DB = "django.contrib.sessions.backends.db"
_SESSION_CACHED_DB = "django.contrib.sessions.backends.cached_db"


def session_user_id(session: dict[str, Any] | None) -> int | None:
    """
    The user id a session names, when it was signed in through the model backend (None for
    anything else, which goes through Django's get_user).
    """
    if not session or session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return None
    if MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        uid: int = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    except Exception:
        return None
    return uid


def session_verifies(session: dict[str, Any], user: tuple[int, str, bool, str] | None) -> bool:
    """
    True when the session's hash is the user's with the current SECRET_KEY (django.contrib.auth
    get_user; the fallback keys are left to it).
    """
    stored = session.get(HASH_SESSION_KEY)
    if not stored or user is None:
        return False
    model = get_user_model()
    expected = model(pk=user[0], password=user[3]).get_session_auth_hash()
    return bool(constant_time_compare(stored, expected))


def load_sessions(keys: list[str]) -> dict[str, dict[str, Any]]:
    """
    The data of the sessions with these keys (missing or expired ones left out): from the cache
    for cached_db, else one query for the db engine; other engines load one by one.
    """
    keys = [k for k in dict.fromkeys(keys) if len(k) >= 8]  # SessionBase's shortest valid key
    if not keys:
        return {}
    engine = settings.SESSION_ENGINE
    store = import_module(engine).SessionStore
    if engine not in (_SESSION_DB, _SESSION_CACHED_DB):
        return {k: d for k in keys if (d := store(k).load())}
    out: dict[str, dict[str, Any]] = {}
    if engine == _SESSION_CACHED_DB:
        session_cache = caches[settings.SESSION_CACHE_ALIAS]
        try:
            got = session_cache.get_many([store.cache_key_prefix + k for k in keys])
        except Exception:
            got = {}
        for k in keys:
            data = got.get(store.cache_key_prefix + k)
            if data is not None:
                out[k] = data
    missing = [k for k in keys if k not in out]
    if missing:
        decoder = store()
        rows = (
            store.get_model_class()
            .objects.filter(session_key__in=missing, expire_date__gt=timezone.now())
            .values_list("session_key", "session_data")
        )
        for key, data in rows:
            decoded = decoder.decode(data)
            if decoded:
                out[key] = decoded
    return out
