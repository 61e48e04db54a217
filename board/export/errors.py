"""
Why an export did not produce a body; api.exceptions maps each code to an HTTP status.
"""

from __future__ import annotations

from board.exceptions import BoardError


class ExportError(BoardError):
    """
    The rasteriser refused the SVG (a bug in board.export.render, never the user's input).
    """

    code = "export_failed"


class ExportTooLarge(BoardError):
    """
    The board is above the export budget for this format (nothing was rendered).
    """

    code = "export_too_large"


class ExportUnavailable(BoardError):
    """
    The export could not be rendered now: its worker crashed or ran out of memory.
    """

    code = "export_unavailable"


class ExportBusy(ExportUnavailable):
    """
    Every export worker stayed busy for EXPORT_TIMEOUT_SECS.
    """

    code = "export_busy"


class ExportTimeout(ExportUnavailable):
    """
    The render took longer than EXPORT_TIMEOUT_SECS; its worker was killed.
    """

    code = "export_timeout"


class ExportOptionError(BoardError):
    """
    An export option names what the board does not have (a `frame` that is not a frame there).
    """

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, extra={"field": field})
        self.field = field
