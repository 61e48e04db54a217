"""
The board app's settings: `app_settings.MAX_ELEMENTS` reads settings.INKROOM lazily.

Reloaded on `setting_changed`, so tests can use `override_settings(INKROOM=...)`.

Defaults that call env_* read their INKROOM_* variable here rather than in config/settings.py;
an INKROOM entry in settings still takes precedence. The socket server's settings share the
INKROOM dict but are realtime.conf's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from config.env import env_float, env_int, env_str

DEFAULTS: dict[str, Any] = {
    "MAX_POINTS_PER_OP": 1024,
    "MAX_POINTS_PER_STROKE": 50_000,
    "MAX_ELEMENTS": 100_000,
    "SNAPSHOT_EVERY_OPS": 1000,
    "SNAPSHOT_EVERY_SECS": 300,
    "SOCKET_TICKET_SECS": 60,
    # Exports (board.export, docs/api.md "Exports"). Worker processes per server process;
    # 0 renders in the request thread, which stalls the event loop: development only.
    "EXPORT_WORKERS": env_int("INKROOM_EXPORT_WORKERS", 1),
    # Longest render, and longest wait for a free worker (503 after either).
    "EXPORT_TIMEOUT_SECS": env_float("INKROOM_EXPORT_TIMEOUT_SECS", 20.0),
    # Address-space limit of a worker (RLIMIT_AS); a 4096 x 4096 PNG needs ~160 MiB.
    "EXPORT_MEMORY_MB": env_int("INKROOM_EXPORT_MEMORY_MB", 512),
    # The budget: above it an export is refused with 422 before rendering.
    "EXPORT_MAX_GLYPHS": env_int("INKROOM_EXPORT_MAX_GLYPHS", 100_000),
    "EXPORT_MAX_POINTS": env_int("INKROOM_EXPORT_MAX_POINTS", 1_000_000),
    # Rendered exports kept per process, keyed by (board, seq, format).
    "EXPORT_CACHE_BYTES": env_int("INKROOM_EXPORT_CACHE_BYTES", 64 * 1024 * 1024),
    # Exports per caller (user, or IP when anonymous), DRF rate syntax; empty: no limit.
    "EXPORT_RATE": env_str("INKROOM_EXPORT_RATE", "20/min") or None,
    # Budgets of one board (board.document.check_op; refused ops get `board_full`): its stroke
    # points and its text characters in all. With MAX_ELEMENTS they bound a board's snapshot
    # (3-12 bytes per point) and its live state (25-95 bytes per point) in every
    # process that holds it; docs/document-model.md, "Size budget", has the measurements.
    "MAX_BOARD_POINTS": env_int("INKROOM_MAX_BOARD_POINTS", 2_000_000),
    "MAX_BOARD_TEXT_CHARS": env_int("INKROOM_MAX_BOARD_TEXT_CHARS", 2_000_000),
    # Snapshots taken and restored per user (api/snapshots.py), DRF rate syntax; empty: no
    # limit. Each stores the whole board (a restore appends it to the log as one `rst`).
    "SNAPSHOT_RATE": env_str("INKROOM_SNAPSHOT_RATE", "10/min") or None,
    # A history page (GET ops/) holds at most this many bytes of stored entries (it stops
    # before the entry that would pass it), and always at least one entry.
    "HISTORY_PAGE_BYTES": env_int("INKROOM_HISTORY_PAGE_BYTES", 4 * 1024 * 1024),
}


class AppSettings:
    """
    Attribute access to settings.INKROOM with defaults; unknown names raise AttributeError.

    A name is resolved once and then kept as an instance attribute, so later reads are plain
    attribute reads: the inbound path reads several per frame, and a miss that reaches
    __getattr__ costs a failed lookup first.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in DEFAULTS:
            raise AttributeError(
                f"Unknown Inkroom setting {name!r}; add it to board.conf.DEFAULTS."
            )
        value = getattr(settings, "INKROOM", {}).get(name, DEFAULTS[name])
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in DEFAULTS:
            self.__dict__.pop(name, None)


app_settings = AppSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "INKROOM":
        app_settings.reload()


setting_changed.connect(_reload)
