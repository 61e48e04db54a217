"""
The caps on sockets per user per board, per user and per board (protocol §1), counted per
process: a socket counts from admission until its connection ends.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from realtime.conf import realtime_settings


def _over(count: int, cap: int) -> bool:
    return 0 < cap <= count


@dataclass(slots=True)
class SocketTally:
    """
    The sockets this process (event loop) holds, for the caps of protocol §1. Plain counters:
    taking and giving back are a few dict operations on the loop, no database, no lock.
    """

    boards: Counter[str] = field(default_factory=Counter)
    users: Counter[int] = field(default_factory=Counter)
    user_boards: Counter[tuple[int, str]] = field(default_factory=Counter)

    def take(self, user_id: int | None, board_id: str) -> bool:
        """
        Count one more socket of `user_id` (None: anonymous) on `board_id`; False, counting
        nothing, when a cap is reached (0 disables a cap). Anonymous sockets (share links, link
        access) have no identity to count by: only the board's cap applies to them.
        """
        conf = realtime_settings()
        if _over(self.boards[board_id], conf.max_sockets_per_board):
            return False
        if user_id is not None:
            if _over(self.users[user_id], conf.max_sockets_per_user) or _over(
                self.user_boards[user_id, board_id], conf.max_sockets_per_user_board
            ):
                return False
            self.users[user_id] += 1
            self.user_boards[user_id, board_id] += 1
        self.boards[board_id] += 1
        return True

    def give_back(self, user_id: int | None, board_id: str) -> None:
        """
        The socket counted by take() ended.
        """
        _decrement(self.boards, board_id)
        if user_id is not None:
            _decrement(self.users, user_id)
            _decrement(self.user_boards, (user_id, board_id))


def _decrement(counter: Counter[Any], key: Any) -> None:
    # Drop keys at zero: a long-lived process sees many users and boards come and go.
    if counter[key] <= 1:
        counter.pop(key, None)
    else:
        counter[key] -= 1


_tallies: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SocketTally] = (
    weakref.WeakKeyDictionary()
)


def get_tally() -> SocketTally:
    """
    The socket tally of the running event loop (one per process under Hypercorn, as the hub).
    """
    loop = asyncio.get_running_loop()
    tally = _tallies.get(loop)
    if tally is None:
        tally = _tallies[loop] = SocketTally()
    return tally
