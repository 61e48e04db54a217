"""Between processes: layer traffic of the hubs, presence across pods, fan-out from sync code."""

from __future__ import annotations
