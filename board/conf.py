"""
The board app's settings: one frozen BoardSettings, each default written once, on its field.

`board_settings()` reads settings.INKROOM once and keeps the object until INKROOM changes
(config.appsettings); INKROOM holds only the INKROOM_* variables that are set, keyed by the
field's name in capitals. The socket server's settings share the dict but are realtime.conf's;
what it derives from the board's (the bounds `hello` announces, the compact codec's points per
op) it reads through board.document.Limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.appsettings import SettingsReader


@dataclass(frozen=True, slots=True)
class BoardSettings:
    """
    The domain's knobs: the size bounds of a board (protocol §5), snapshots, socket tickets,
    exports, image assets, and the API's rates and pages.
    """

    #: Points in one op's `p`, and in one compact `app` (protocol §5).
    max_points_per_op: int = 1024
    #: Points in one stroke (`board_full` above).
    max_points_per_stroke: int = 50_000
    #: Elements on one board (`board_full` above).
    max_elements: int = 100_000
    #: Budgets of one board (board.document.check_op; refused ops get `board_full`): its stroke
    #: points and its text characters in all. With max_elements they bound a board's snapshot
    #: and its live state in every process that holds it (docs/document-model.md, "Size
    #: budget", has the bytes per point).
    max_board_points: int = 2_000_000
    max_board_text_chars: int = 2_000_000
    #: Automatic snapshots (board.snapshots.should_snapshot): after this many ops, or this long
    #: after the first op since the last one; bounds a cold load's replay.
    snapshot_every_ops: int = 1000
    snapshot_every_secs: int = 300
    #: Lifetime of a socket ticket: long enough to open a socket after fetching it, short
    #: enough that a leaked URL is soon worthless.
    socket_ticket_secs: int = 60
    #: Export worker processes per server process (board.export, docs/api.md "Exports"); 0
    #: renders in the request thread, which stalls the event loop: development only.
    export_workers: int = 1
    #: Longest render, and longest wait for a free worker (503 after either).
    export_timeout_secs: float = 20.0
    #: Address-space limit of a worker (RLIMIT_AS); a 4096 x 4096 PNG needs ~160 MiB.
    export_memory_mb: int = 512
    #: The export budget: above it an export is refused with 422 before rendering.
    export_max_glyphs: int = 100_000
    export_max_points: int = 1_000_000
    #: Rendered exports kept per process, keyed by (board, seq, format).
    export_cache_bytes: int = 64 * 1024 * 1024
    #: Exports per caller (user, or IP when anonymous), DRF rate syntax; None: no limit.
    export_rate: str | None = "20/min"
    #: Snapshots taken and restored per user (api/snapshots.py), DRF rate syntax; None: no
    #: limit. Each stores the whole board (a restore appends it to the log as one `rst`).
    snapshot_rate: str | None = "10/min"
    #: A history page (GET ops/) holds at most this many bytes of stored entries (it stops
    #: before the entry that would pass it), and always at least one entry.
    history_page_bytes: int = 4 * 1024 * 1024
    #: An uploaded image's bytes (413 above) and pixels, width x height (422 above: checked
    #: from the header before decoding, so a small file claiming a huge canvas never inflates).
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    #: Image uploads per caller (user, or IP when anonymous), DRF rate syntax; None: no limit.
    #: Copies from another board store nothing and are not counted.
    image_upload_rate: str | None = "60/min"
    #: `manage.py gc_assets` keeps an unreferenced asset this long after its last upload or
    #: copy: an upload is referenced only once the client's `add` of its image is committed,
    #: which an offline client may send hours later.
    asset_gc_grace_secs: int = 24 * 3600


#: The defaults, without reading settings: what README.md and docs/protocol.md §5 document.
DEFAULTS = BoardSettings()

#: The current settings: `board_settings().max_elements`.
board_settings = SettingsReader(BoardSettings)
