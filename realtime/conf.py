"""
Realtime's settings: one frozen object, each default written once, read from settings.INKROOM.

`realtime_settings()` reads settings.INKROOM once and keeps the object until a `setting_changed`
for INKROOM (tests' `settings` fixture and `override_settings`), as DRF's `api_settings` does
(config.appsettings, shared with board.conf).
INKROOM's keys are the field names in capitals; config/settings.py puts in it only the INKROOM_*
variables that are set, so a default lives here and nowhere else. The board's own bounds
(points, elements, budgets) belong to board.conf and board.document.Limits; `hello_limits()`
joins the two into what `hello` announces (protocol §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from board.document import Limits
from config.appsettings import SettingsReader, settings_from


@dataclass(frozen=True, slots=True)
class RealtimeSettings:
    """
    The knobs of the socket server; protocol §5 documents those a client is told in `hello`.
    """

    #: How long the hub gathers inbound ops before one transaction commits them all: a shorter
    #: tick lowers latency, a longer one makes fewer, bigger transactions.
    tick_ms: int = 20
    #: While the process uses less CPU than this (a share of one core), ops are committed as
    #: soon as they are read instead of waiting for the tick; above it the gap between ticks
    #: grows to `tick_ms` (realtime.engine.pacing). 0: always wait for the tick.
    flush_idle_cpu: float = 0.25
    #: Largest inbound frame, text or binary (protocol §5).
    max_frame_bytes: int = 256 * 1024
    #: Ops in one client `ops` frame.
    max_ops_per_frame: int = 256
    #: A socket's token buckets (protocol §5): ops and bytes per second, and how many may be
    #: saved up; generous for a person drawing fast, tight for a script.
    ops_per_sec: float = 300.0
    ops_burst: float = 600.0
    bytes_per_sec: float = 1024 * 1024.0
    bytes_burst: float = 4 * 1024 * 1024.0
    #: Clients send their cursor at most this often.
    cursor_ms: int = 50
    #: How long a client (and a hub) waits for a missing seq before reading it from the log.
    gap_wait_ms: int = 500
    #: A catch-up this far behind the head starts from a snapshot instead of the ops.
    snapshot_catchup_ops: int = 5000
    #: Ops per `ops` frame of a catch-up.
    catchup_frame_ops: int = 2000
    #: Bounds of a socket's send queue; beyond either the socket is closed with 4008.
    send_queue_frames: int = 512
    send_queue_bytes: int = 8 * 1024 * 1024
    #: Socket caps per process (protocol §1; 0: no cap), beyond which a new socket is closed
    #: with 4009: generous for people (20 tabs on one board), tight for one account holding
    #: hundreds of sockets to multiply its per-socket rate limits.
    max_sockets_per_user_board: int = 20
    max_sockets_per_user: int = 50
    max_sockets_per_board: int = 2000
    #: What a draining process (SIGTERM) gives its sockets to be flushed and closed with 1012.
    drain_secs: float = 10.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> RealtimeSettings:
        """
        The settings with INKROOM-style overrides (`{"TICK_MS": 5}`), cast to each field's type;
        keys that are not realtime's are left to board.conf.
        """
        return settings_from(cls, values)


#: The defaults, without reading settings: what docs/protocol.md §5 documents.
DEFAULTS = RealtimeSettings()

#: The `hello.limits` keys that are realtime's, in the order `hello` sends them around the
#: board's (the byte order of `hello` is part of the golden vectors).
_HELLO_BEFORE_BOARD = ("max_frame_bytes", "max_ops_per_frame")
_HELLO_AFTER_BOARD = (
    "ops_per_sec",
    "ops_burst",
    "bytes_per_sec",
    "bytes_burst",
    "cursor_ms",
    "gap_wait_ms",
    "snapshot_catchup_ops",
    "catchup_frame_ops",
)
#: The board's bounds `hello` announces, as named in board.document.Limits.
_HELLO_BOARD = (
    "max_points_per_op",
    "max_points_per_stroke",
    "max_elements",
    "max_board_points",
    "max_board_text_chars",
)

#: The current settings, read from settings.INKROOM on first use after a change.
realtime_settings = SettingsReader(RealtimeSettings)


def hello_limits(
    conf: RealtimeSettings | None = None, board: Limits | None = None
) -> dict[str, int | float]:
    """
    The `limits` object of `hello` (protocol §5): the current settings unless given.
    """
    ours = conf or realtime_settings()
    theirs = board or Limits.from_settings()
    return {
        **{key: getattr(ours, key) for key in _HELLO_BEFORE_BOARD},
        **{key: getattr(theirs, key) for key in _HELLO_BOARD},
        **{key: getattr(ours, key) for key in _HELLO_AFTER_BOARD},
    }
