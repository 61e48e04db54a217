"""
Board exports (SVG, PNG, JSON) rendered outside the server process, within a budget, cached.

The server side calls `get_exporter().export(...)` with a loader of the stored board
(api.history). One job per module:

* `render`: the SVG, PNG (resvg) and JSON renderings of a state (pure);
* `options`: an export's options (padding, background, scale, selection, frame, dark) applied
  to a state (pure); `dark`: the dark-mode colour rule;
* `thumbnail`: the board list's small PNG of a state (pure);
* `budget`: what an export costs and the most it may cost (EXPORT_MAX_GLYPHS, _POINTS);
* `task`: one export as a worker computes it (decode, measure, render); `upright`: photos
  turned by their EXIF orientation before they are embedded;
* `workers`: the worker processes (EXPORT_WORKERS, _MEMORY_MB, _TIMEOUT_SECS); `slots`: who gets
  the next free one (exports before thumbnails);
* `cache`: rendered bodies by (board, seq, format, options) (EXPORT_CACHE_BYTES);
* `exporter`: the process's exporter tying them together;
* `errors`: why an export produced no body.

The worker side (render, thumbnail, budget, task, upright, workers) imports no Django models: the
forkserver preloads it before Django is set up.
"""

from __future__ import annotations

from board.export.budget import Budget, ExportCost, export_cost
from board.export.errors import (
    ExportBusy,
    ExportError,
    ExportOptionError,
    ExportTimeout,
    ExportTooLarge,
    ExportUnavailable,
)
from board.export.exporter import Exporter, get_exporter, reset_exporter
from board.export.options import ExportOptions
from board.export.task import ExportSource

__all__ = [
    "Budget",
    "ExportBusy",
    "ExportCost",
    "ExportError",
    "ExportOptionError",
    "ExportOptions",
    "ExportSource",
    "ExportTimeout",
    "ExportTooLarge",
    "ExportUnavailable",
    "Exporter",
    "export_cost",
    "get_exporter",
    "reset_exporter",
]
