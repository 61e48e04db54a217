"""
The simulation's channel layer: per-channel FIFO delivery with delays, drops and duplicates.

What channels_redis may do to a message (lose it at capacity or expiry, deliver it late), and
what an at-least-once transport could do (deliver it twice), decided by the world's RNG. Order
within one channel is kept, as Redis lists keep it. Messages are msgpack round-tripped, as
channels_redis serialises them, so no receiver shares an object with its sender.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

import msgpack


@dataclass
class LayerFaults:
    drop: float = 0.0
    duplicate: float = 0.0
    delay_max: float = 0.002
    capacity: int = 100

    def calm(self) -> None:
        self.drop = self.duplicate = 0.0


class SimLayer:
    def __init__(self, rng: random.Random, faults: LayerFaults) -> None:
        self.rng = rng
        self.faults = faults
        self.groups: dict[str, set[str]] = {}
        self._pending: dict[str, deque[tuple[float, bytes]]] = {}
        self._ready: dict[str, deque[bytes]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._last: dict[str, float] = {}
        self._n = 0
        self.sent = self.dropped = self.duplicated = 0

    async def new_channel(self, prefix: str = "specific.") -> str:
        self._n += 1
        name = f"{prefix}sim{self._n}"
        self._pending[name], self._ready[name] = deque(), deque()
        self._wake[name] = asyncio.Event()
        return name

    async def group_add(self, group: str, channel: str) -> None:
        self.groups.setdefault(group, set()).add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.groups.get(group, set()).discard(channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        data = msgpack.packb(message)
        loop = asyncio.get_running_loop()
        for channel in sorted(self.groups.get(group, ())):
            copies = 2 if self.rng.random() < self.faults.duplicate else 1
            self.duplicated += copies - 1
            for _ in range(copies):
                waiting = len(self._pending[channel]) + len(self._ready[channel])
                if self.rng.random() < self.faults.drop or waiting >= self.faults.capacity:
                    self.dropped += 1
                    continue
                self.sent += 1
                at = loop.time() + self.rng.uniform(0, self.faults.delay_max)
                at = max(at, self._last.get(channel, 0.0))  # FIFO per channel
                self._last[channel] = at
                self._pending[channel].append((at, data))
                loop.call_at(at, self._release, channel)

    def _release(self, channel: str) -> None:
        now = asyncio.get_running_loop().time()
        pending = self._pending[channel]
        while pending and pending[0][0] <= now:
            self._ready[channel].append(pending.popleft()[1])
        if self._ready[channel]:
            self._wake[channel].set()

    async def receive(self, channel: str) -> dict[str, Any]:
        ready = self._ready[channel]
        while not ready:
            self._wake[channel].clear()
            await self._wake[channel].wait()
        message: dict[str, Any] = msgpack.unpackb(ready.popleft())
        return message
