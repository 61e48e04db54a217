"""
Who is on a board across all processes: local sockets plus what other hubs announced.

Each hub announces its full local list per board in its per-tick `board.batch` whenever it
changes, and re-announces everything every PRESENCE_REFRESH_SECS; entries of a hub that falls
silent expire after PRESENCE_EXPIRY_SECS (a killed pod cannot say goodbye). Never stored.

The same announcements say which hubs hold a room for the board (`rooms` in the message): a hub
sends a board's ticks and cursors through the layer only while another hub holds it, so a board
whose clients all landed on one process costs the layer nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

#: How often a hub re-announces every room's presence: keeps remote entries from expiring.
PRESENCE_REFRESH_SECS = 5.0
#: Remote entries not refreshed within this are dropped: three missed refreshes means gone.
PRESENCE_EXPIRY_SECS = 15.0


class PresenceEntry(TypedDict):
    """
    One connected client as shown in `presence` frames.
    """

    client_id: str
    user_id: int | None
    name: str
    color: str
    role: str


class PresenceBook:
    """
    One board's remote presence, keyed by the announcing hub.
    """

    __slots__ = ("_holders", "_remote")

    def __init__(self) -> None:
        self._remote: dict[str, tuple[float, list[PresenceEntry]]] = {}
        #: Hubs holding a room for the board, and until when that is believed.
        self._holders: dict[str, float] = {}

    def hold(self, origin: str, holds: bool, now: float) -> bool:
        """
        Record whether hub `origin` holds a room for the board; True when it newly does.
        """
        if not holds:
            self._holders.pop(origin, None)
            return False
        new = origin not in self._holders
        self._holders[origin] = now + PRESENCE_EXPIRY_SECS
        return new

    @property
    def held_elsewhere(self) -> bool:
        """
        Whether another hub holds the board (its ticks must go through the layer).
        """
        return bool(self._holders)

    def update(self, origin: str, entries: list[PresenceEntry], now: float) -> bool:
        """
        Replace what hub `origin` said; True when the visible list changed.
        """
        before = self._remote.get(origin)
        if entries:
            self._remote[origin] = (now + PRESENCE_EXPIRY_SECS, entries)
        else:
            self._remote.pop(origin, None)
        return (before[1] if before else []) != entries

    def expire(self, now: float) -> bool:
        """
        Drop hubs that fell silent; True when something was dropped.
        """
        for origin in [o for o, until in self._holders.items() if until < now]:
            del self._holders[origin]
        dead = [origin for origin, (until, _) in self._remote.items() if until < now]
        for origin in dead:
            del self._remote[origin]
        return bool(dead)

    def merged(self, local: Iterable[PresenceEntry]) -> list[PresenceEntry]:
        """
        Local entries followed by remote ones, one per client id (local wins).
        """
        out = list(local)
        seen = {e["client_id"] for e in out}
        for _, entries in self._remote.values():
            for entry in entries:
                if entry["client_id"] not in seen:
                    seen.add(entry["client_id"])
                    out.append(entry)
        return out
