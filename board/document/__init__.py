"""
The document model: elements, ops, validation and the reducer (docs/document-model.md).

Pure code: no ORM, no I/O. Server (realtime hub, snapshots, API) and tests import from here:

* `validate_op` (structure, untrusted input; `validate_app` for a compact frame's `app`) and
  `check_op` (against the current board),
* `BoardState`, `apply_in_place`, `apply`, `replay`, `materialize` (the total reducer),
* `inverse_op` (undo), `bbox` (geometry), `Limits` (size bounds from settings).
"""

from __future__ import annotations

from board.document.check import check_op
from board.document.geometry import bbox
from board.document.inverse import inverse_op
from board.document.limits import COORD_MAX, Limits
from board.document.reducer import apply, apply_in_place, materialize, replay
from board.document.state import SNAPSHOT_VERSION, BoardState, copy_element
from board.document.validate import validate_app, validate_element, validate_op

__all__ = [
    "COORD_MAX",
    "SNAPSHOT_VERSION",
    "BoardState",
    "Limits",
    "apply",
    "apply_in_place",
    "bbox",
    "check_op",
    "copy_element",
    "inverse_op",
    "materialize",
    "replay",
    "validate_app",
    "validate_element",
    "validate_op",
]
