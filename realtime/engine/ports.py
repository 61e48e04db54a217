"""
What the hub's parts (the tick, the layer link, repairs, upkeep, joins) use of the hub.

The hub (realtime.engine.hub) builds its parts and hands each one itself. Typing them against
this Protocol rather than the Hub class keeps the imports one way (hub → parts → ports): a part
can be read, and tested with a stand-in, without the hub around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, Protocol, TypeVar

from board.document import Limits
from realtime.engine.counts import Counts
from realtime.engine.delivery import Delivery
from realtime.engine.room import Peer, Room
from realtime.wire.protocol import ErrorCode

T = TypeVar("T")


class HubPort(Protocol):
    """
    The hub as its parts see it.
    """

    #: The one clock of the hub, its rooms and sockets.
    clock: Callable[[], float]
    #: Waits on that clock (asyncio.sleep for the loop's own).
    sleep: Callable[[float], Awaitable[None]]
    #: This hub's name on the channel layer (the `origin` of its batches).
    id: str
    rooms: dict[str, Room]
    #: Set when there is something for the next tick to do.
    work: asyncio.Event
    counts: Counts
    limits: Limits
    #: Held while a tick runs (drain's flush takes it too).
    tick_lock: asyncio.Lock
    #: The channel layer (None: none configured) and this hub's channel on it, once joined.
    layer: Any
    channel: str | None

    @property
    def draining(self) -> bool: ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]: ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...

    def deliver(
        self,
        room: Room,
        deliveries: list[Delivery],
        confirms: Delivery | None = None,
        authors: Collection[str] = (),
    ) -> None: ...

    def close_peer(self, peer: Peer, code: int, *, now: bool = False) -> None: ...

    def close_user(self, user_id: int | None, credential: str = "") -> None: ...

    def drop_room(self, room: Room, code: int) -> None: ...

    def fail_room(self, room: Room) -> None: ...

    def refuse_pending(self, room: Room) -> None: ...

    def close_stalled(self, now: float) -> None: ...

    def forget_idle_rooms(self, now: float) -> None: ...

    def count_rooms(self) -> None: ...

    def overflowed(self, peer: Peer, why: str = "send queue full") -> None: ...

    def error(
        self,
        peer: Peer,
        code: ErrorCode,
        message: str,
        ids: list[int] | None,
        field: str | None = None,
    ) -> None: ...
