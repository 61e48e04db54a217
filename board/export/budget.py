"""
The export budget: what rendering a board costs, and the most one export may cost.

Glyphs (text characters) and points (stroke points plus POINTS_PER_ELEMENT per element) are
checked after decoding and before rendering. PNG and thumbnails spend both; SVG only points (text
is copied, not drawn); JSON is the data itself and has no budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from board.conf import board_settings
from board.document import BoardState

#: What an element counts towards an export's point budget besides its own stroke points: its
#: group, shape and caps. On resvg an element costs about as much as 8-12 stroke points
#: (docs/performance.md has the measurements).
POINTS_PER_ELEMENT = 8


@dataclass(frozen=True, slots=True)
class ExportCost:
    """
    What rendering a state costs, in the units of the export budget.
    """

    #: Characters of text elements (rasterising text is the slowest thing per unit).
    glyphs: int
    #: Stroke points plus POINTS_PER_ELEMENT per element.
    points: int


def export_cost(state: BoardState) -> ExportCost:
    """
    Measure `state` against the export budget: one pass, no rendering.
    """
    glyphs = points = 0
    for el in state.elements.values():
        kind = el["type"]
        if kind == "text":
            glyphs += len(el["text"])
        elif kind == "stroke":
            points += len(el.get("p") or ()) // 2
    return ExportCost(glyphs=glyphs, points=points + POINTS_PER_ELEMENT * len(state.elements))


@dataclass(frozen=True, slots=True)
class Budget:
    """
    The most an export may cost (ExportCost units).
    """

    max_glyphs: int
    max_points: int

    @classmethod
    def from_settings(cls) -> Budget:
        conf = board_settings()
        return cls(max_glyphs=conf.export_max_glyphs, max_points=conf.export_max_points)

    def limits(self, fmt: str) -> dict[str, int]:
        """
        Return the bounds that apply to `fmt` (none for JSON).
        """
        if fmt in ("png", "thumb"):
            # A thumbnail is small, but rasterising it still walks every path and glyph.
            return {"glyphs": self.max_glyphs, "points": self.max_points}
        if fmt == "svg":
            return {"points": self.max_points}
        return {}

    def fits(self, fmt: str, cost: ExportCost) -> bool:
        return all(getattr(cost, unit) <= bound for unit, bound in self.limits(fmt).items())
