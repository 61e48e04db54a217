"""
The document model's bounds: value ranges fixed by the protocol and size limits from settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from board.conf import DEFAULTS, board_settings

#: |x|, |y| of an element origin in world units (protocol §3.1); 1e7 CSS px is far beyond any
#: real drawing yet keeps every absolute coordinate exact in a float64 and an int32.
COORD_MAX = 10_000_000
#: A point delta may cross the whole coordinate range in one step.
DELTA_MAX = 2 * COORD_MAX
#: Client op ids are JavaScript-safe integers (Number.MAX_SAFE_INTEGER).
OP_ID_MAX = 2**53 - 1
#: Element ids: 1..32 chars of [A-Za-z0-9_-] (a nanoid fits).
ID_MAX_CHARS = 32
#: Ids one `mov`/`del` may name (protocol §3.2).
MAX_IDS_PER_OP = 10_000
#: Characters in a text element.
TEXT_MAX_CHARS = 10_000
#: Characters in a frame's name (a label above a region, not a paragraph).
FRAME_NAME_MAX_CHARS = 200
#: Font size of a text element, world units.
TEXT_SIZE_MIN, TEXT_SIZE_MAX = 4, 512
#: Wrap width of a text element (`w`), world units.
TEXT_WRAP_MAX = 20_000
#: Stroke width, world units.
WIDTH_MIN, WIDTH_MAX = 0.5, 256
#: Element opacity; below 5 % an element is invisible and only confuses users.
OPACITY_MIN, OPACITY_MAX = 0.05, 1
#: Pen pressure per point, percent.
PRESSURE_MAX = 100
#: An element's rotation `rot`, degrees clockwise, in 0 <= rot < ROT_END (one turn).
ROT_END = 360
#: A stroke's scale factors `sx`/`sy`: 0.01 <= |s| <= 100 (negative mirrors). Below 1 % a stroke
#: is a speck no handle can grow back at a usable size; 100x keeps a 1-unit stroke inside the
#: coordinate range's precision.
SCALE_MIN, SCALE_MAX = 0.01, 100


@dataclass(frozen=True, slots=True)
class Limits:
    """
    The configurable size bounds an op is validated against (protocol §5).
    """

    max_points_per_op: int = DEFAULTS.max_points_per_op
    max_points_per_stroke: int = DEFAULTS.max_points_per_stroke
    max_elements: int = DEFAULTS.max_elements
    max_ids_per_op: int = MAX_IDS_PER_OP
    max_text_chars: int = TEXT_MAX_CHARS
    #: Budgets of the whole board (check_op), against BoardState's running totals: every
    #: stroke point, and every character of text elements. With max_elements they bound what
    #: one board may hold in a snapshot and in a server's memory (docs/document-model.md).
    max_board_points: int = DEFAULTS.max_board_points
    max_board_text_chars: int = DEFAULTS.max_board_text_chars

    @classmethod
    def from_settings(cls) -> Limits:
        """
        Build the limits from the current board settings (board.conf.board_settings()).
        """
        conf = board_settings()
        return cls(
            max_points_per_op=conf.max_points_per_op,
            max_points_per_stroke=conf.max_points_per_stroke,
            max_elements=conf.max_elements,
            max_board_points=conf.max_board_points,
            max_board_text_chars=conf.max_board_text_chars,
        )
