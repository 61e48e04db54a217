"""
Inkroom's app settings: `app_settings.TICK_MS` reads settings.INKROOM lazily.

Reloaded on `setting_changed`, so tests can use `override_settings(INKROOM=...)`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from config.env import env_int

DEFAULTS: dict[str, Any] = {
    "TICK_MS": 20,
    "MAX_FRAME_BYTES": 256 * 1024,
    "MAX_OPS_PER_FRAME": 256,
    "MAX_POINTS_PER_OP": 1024,
    "MAX_POINTS_PER_STROKE": 50_000,
    "MAX_ELEMENTS": 100_000,
    "OPS_PER_SEC": 300.0,
    "OPS_BURST": 600.0,
    "BYTES_PER_SEC": 1024 * 1024.0,
    "BYTES_BURST": 4 * 1024 * 1024.0,
    "CURSOR_MS": 50,
    "GAP_WAIT_MS": 500,
    "SNAPSHOT_CATCHUP_OPS": 5000,
    "CATCHUP_FRAME_OPS": 2000,
    "SEND_QUEUE_FRAMES": 512,
    "SEND_QUEUE_BYTES": 8 * 1024 * 1024,
    "SNAPSHOT_EVERY_OPS": 1000,
    "SNAPSHOT_EVERY_SECS": 300,
    "SOCKET_TICKET_SECS": 60,
    # Socket caps per process (protocol §1; 0: no cap), counted by realtime.middleware. Beyond
    # them a new socket is closed with 4009. Generous for people (20 tabs on one board), tight
    # for one account holding hundreds of sockets to multiply its per-socket rate limits.
    "MAX_SOCKETS_PER_USER_BOARD": env_int("INKROOM_MAX_SOCKETS_PER_USER_BOARD", 20),
    "MAX_SOCKETS_PER_USER": env_int("INKROOM_MAX_SOCKETS_PER_USER", 50),
    "MAX_SOCKETS_PER_BOARD": env_int("INKROOM_MAX_SOCKETS_PER_BOARD", 2000),
    "DRAIN_SECS": 10.0,
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
