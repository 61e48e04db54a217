"""
One export as a worker computes it: decode the stored board, measure it, render it.

Imports no Django models: the forkserver preloads the worker side before Django is set up.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgpack

from board.document import BoardState, replay
from board.export.budget import Budget, ExportCost, export_cost
from board.export.images import AssetBlob, export_assets
from board.export.options import OPTION_RENDERERS, ExportOptions, selected_state
from board.export.render import FORMAT_RENDERERS
from board.export.thumbnail import render_thumbnail
from board.export.upright import upright_assets

#: What each format's body is rendered by: the exports, and the board list's thumbnails.
RENDERERS = {**FORMAT_RENDERERS, "thumb": render_thumbnail}


@dataclass(frozen=True, slots=True)
class ExportSource:
    """
    A board at `seq` as stored: its latest snapshot <= seq and the log entries after it, and
    the bytes of the images it may show.
    """

    seq: int
    snapshot: bytes | None
    ops: list[bytes]
    #: The images the board may show, by asset id (board.export.images).
    assets: Mapping[str, AssetBlob] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    """
    A worker's answer: the body, or None when the cost was above the budget.
    """

    body: bytes | None
    cost: ExportCost


def materialise(source: ExportSource) -> BoardState:
    """
    Decode a board from its stored snapshot and log tail (board.snapshots.state_load's replay).
    """
    # The decoded maps hold no cycles: collections during the decode only cost time.
    gc.disable()
    try:
        if source.snapshot is None:
            state = BoardState()
        else:
            state = BoardState.from_snapshot(msgpack.unpackb(source.snapshot))
        return replay(state, (msgpack.unpackb(entry) for entry in source.ops))
    finally:
        gc.enable()


#: The options of an export that asks for none: the renderers' own defaults.
DEFAULT_OPTIONS = ExportOptions()


def run_export(
    fmt: str, source: ExportSource, budget: Budget, options: ExportOptions = DEFAULT_OPTIONS
) -> Rendered:
    """
    Decode, measure and (within `budget`) render: what a worker does for one export.

    Raises ExportOptionError when an option names what the board does not have.
    """
    state = materialise(source)
    # Drawn formats embed photos turned as the editor shows them; JSON keeps the stored bytes.
    assets = source.assets if fmt == "json" else upright_assets(source.assets)
    with export_assets(assets):
        if options == DEFAULT_OPTIONS:
            cost = export_cost(state)
            if not budget.fits(fmt, cost):
                return Rendered(None, cost)
            return Rendered(RENDERERS[fmt](state), cost)
        cost = export_cost(selected_state(state, options))
        if not budget.fits(fmt, cost):
            return Rendered(None, cost)
        return Rendered(OPTION_RENDERERS[fmt](state, options), cost)
