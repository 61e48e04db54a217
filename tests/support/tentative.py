"""
A client's view of a board with the tentative layer (docs/protocol.md §2.6), sans I/O: the
reference for frontend/src/sync.ts's, used by tests and the simulation.

view = the confirmed log applied in seq order + others' tentative ops in arrival order + this
client's unacknowledged outbox in `i` order. A log entry replaces its tentative copy (matched on
(c, i)); `tdrop` removes tentatives; a reconnect, a resync and a `snap` drop them all. Own ops
never become tentatives (the outbox already holds them) and leave the outbox only when acked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from board.document import BoardState, apply_in_place, copy_element

Key = tuple[str, int]


class TentativeView:
    """
    The board as one client of `client_id` shows it.
    """

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.confirmed = BoardState()
        #: Others' ops sent before their commit, by (author, op id), in arrival order.
        self.tentatives: dict[Key, dict[str, Any]] = {}
        #: This client's ops not acknowledged yet, by op id.
        self.outbox: dict[int, dict[str, Any]] = {}

    @property
    def applied(self) -> int:
        return self.confirmed.seq

    def submit(self, op: Mapping[str, Any]) -> None:
        self.outbox[int(op["i"])] = dict(op)

    def on_entries(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """
        Log entries, in seq order from `applied + 1` (a gap is the caller's to hold back).
        """
        for entry in entries:
            seq = int(entry["s"])
            if seq <= self.confirmed.seq:
                continue
            apply_in_place(self.confirmed, entry)
            self.confirmed.seq = seq
            key = (str(entry["c"]), int(entry["i"]))
            self.tentatives.pop(key, None)
            if key[0] == self.client_id:
                self.outbox.pop(key[1], None)

    def on_ack(self, pairs: Iterable[tuple[int, int]]) -> None:
        for i, _seq in pairs:
            self.outbox.pop(int(i), None)

    def on_tentative(self, ops: Iterable[Mapping[str, Any]]) -> None:
        for op in ops:
            key = (str(op["c"]), int(op["i"]))
            if key[0] == self.client_id:
                continue
            # A resend offered again takes its new place in arrival order.
            self.tentatives.pop(key, None)
            self.tentatives[key] = dict(op)

    def on_drop(self, keys: Iterable[tuple[str, int]]) -> None:
        for c, i in keys:
            self.tentatives.pop((str(c), int(i)), None)

    def on_snap(self, seq: int, els: Iterable[Mapping[str, Any]]) -> None:
        self.confirmed = BoardState({el["id"]: copy_element(el) for el in els}, seq)
        self.tentatives.clear()

    def reset(self) -> None:
        """
        The socket closed, or the client asked to resync: every tentative goes.
        """
        self.tentatives.clear()

    def view(self) -> BoardState:
        state = self.confirmed.copy()
        for op in self.tentatives.values():
            apply_in_place(state, op)
        for i in sorted(self.outbox):
            apply_in_place(state, self.outbox[i])
        return state
