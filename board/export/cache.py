"""
Rendered exports kept in memory, by (board id, seq, format, options).

The log up to a seq never changes, so an entry never goes stale; the least recently used goes
first once the bodies pass the cache's size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from board.export.task import Rendered

#: A cached "too large" verdict holds no body; this is what it counts against the cache size.
VERDICT_BYTES = 64
#: Entries above this share of the cache are not kept: one would evict everything else.
MAX_ENTRY_SHARE = 4


class ExportCache:
    """
    Rendered exports by key, least recently used out first, at most `max_bytes` of bodies.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[Hashable, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _weight(rendered: Rendered) -> int:
        return len(rendered.body) if rendered.body is not None else VERDICT_BYTES

    def get(self, key: tuple[Hashable, ...]) -> Rendered | None:
        with self._lock:
            rendered = self._entries.get(key)
            if rendered is not None:
                self._entries.move_to_end(key)
            return rendered

    def put(self, key: tuple[Hashable, ...], rendered: Rendered) -> None:
        weight = self._weight(rendered)
        if weight > self.max_bytes // MAX_ENTRY_SHARE:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= self._weight(old)
            self._entries[key] = rendered
            self.size += weight
            while self.size > self.max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self.size -= self._weight(evicted)

    def __len__(self) -> int:
        return len(self._entries)
