"""
The op log of the simulation: the durable truth, in memory, with the hub's store API.

Each function answers what its namesake in realtime.engine.store answers from PostgreSQL, with fresh
objects every time (a reader never shares state with the log). Sequencing reuses
board.oplog.sequence, so entries are byte for byte what the real log stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from board.document import BoardState, materialize
from board.exceptions import BoardNotFound
from board.oplog.sequence import AppendResult, Submission, sequence
from board.snapshots import decode_snapshot, encode_snapshot
from realtime.engine import store
from realtime.engine.store import LoadedBoard, TickResult, snap_from_snapshot
from realtime.wire.frames import encode_snap


@dataclass
class LogBoard:
    entries: list[bytes] = field(default_factory=list)
    #: (client_id, i) -> seq
    index: dict[tuple[str, int], int] = field(default_factory=dict)
    #: seq -> encoded snapshot
    snapshots: dict[int, bytes] = field(default_factory=dict)
    roles: dict[int | None, str] = field(default_factory=dict)

    @property
    def head(self) -> int:
        return len(self.entries)


class SimLog:
    def __init__(self) -> None:
        self.boards: dict[str, LogBoard] = {}

    def create(self, board_id: str, roles: dict[int | None, str]) -> None:
        self.boards[board_id] = LogBoard(roles=dict(roles))

    def _board(self, board_id: str) -> LogBoard:
        board = self.boards.get(board_id)
        if board is None:
            raise BoardNotFound(board_id)
        return board

    def state(self, board_id: str, upto: int | None = None) -> BoardState:
        """
        The reduction of the log (the oracle's board).
        """
        board = self._board(board_id)
        entries = board.entries if upto is None else board.entries[:upto]
        return materialize(None, (msgpack.unpackb(e) for e in entries))

    # --- the realtime.engine.store API --------------------------------------------------------

    def commit_tick(
        self, batches: Mapping[str, Sequence[Submission]], suspects: Iterable[tuple[str, str, int]]
    ) -> TickResult:
        out = TickResult()
        pack = msgpack.Packer().pack
        for board_id, subs in batches.items():
            result = out.results[board_id] = AppendResult(board_id=board_id)
            board = self.boards.get(board_id)
            if board is None:
                result.missing = True
                continue
            known = {
                (board_id, c, i): (s, board.entries[s - 1]) for (c, i), s in board.index.items()
            }
            rows = sequence(result, board.head, subs, known, pack)
            for _b, seq, client_id, op_id, _u, _k, payload in rows:
                assert seq == board.head + 1, "the log's seqs must stay contiguous"
                board.entries.append(payload)
                board.index[(client_id, op_id)] = seq
        for board_id, client_id, op_id in suspects:
            board = self.boards.get(board_id)
            if board is None:
                continue
            out.heads[board_id] = board.head
            seq = board.index.get((client_id, op_id))
            if seq is not None:
                out.found[(board_id, client_id, op_id)] = (seq, board.entries[seq - 1])
        return out

    def load_board(self, board_id: str) -> LoadedBoard:
        board = self._board(board_id)
        snap_seq = max(board.snapshots, default=0)
        snap = snap_from_snapshot(board.snapshots[snap_seq]) if snap_seq else None
        base = decode_snapshot(board.snapshots[snap_seq]) if snap_seq else None
        tail = (msgpack.unpackb(e) for e in board.entries[snap_seq:])
        return LoadedBoard(materialize(base, tail), snap_seq, snap)

    def load_state(self, board_id: str) -> tuple[BoardState, int]:
        loaded = self.load_board(board_id)
        return loaded.state, loaded.snapshot_seq

    def read_range(
        self, board_id: str, after: int, upto: int | None = None
    ) -> list[tuple[int, bytes]]:
        entries = self._board(board_id).entries
        last = len(entries) if upto is None else min(upto, len(entries))
        return [(seq, entries[seq - 1]) for seq in range(after + 1, last + 1)]

    def read_snapshot_catchup(self, board_id: str) -> tuple[bytes, int, list[tuple[int, bytes]]]:
        state = self.state(board_id)
        return encode_snap(state), state.seq, []

    def heads(self, board_ids: Sequence[str]) -> dict[str, int]:
        return {b: self.boards[b].head for b in board_ids if b in self.boards}

    def resolve_roles(
        self, board_id: str, callers: Sequence[tuple[Any, str | None]]
    ) -> list[str | None]:
        board = self.boards.get(board_id)
        return [None if board is None else board.roles.get(u) for u, _share in callers]

    def store_live_snapshot(self, board_id: str, seq: int, data: bytes, element_count: int) -> int:
        board = self.boards.get(board_id)
        if board is None:
            return -1
        assert decode_snapshot(data) == self.state(board_id, seq), "live snapshot differs from log"
        board.snapshots[seq] = data
        return seq

    def take_snapshot(self, board_id: str) -> int:
        board = self.boards.get(board_id)
        if board is None:
            return -1
        board.snapshots[board.head] = encode_snapshot(self.state(board_id))
        return board.head

    def implementation(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """
        This log's stand-in for a realtime.engine.store function (other callables run as they are).
        """
        if getattr(fn, "__module__", None) == store.__name__:
            return getattr(self, fn.__name__)  # type: ignore[no-any-return]
        return fn
