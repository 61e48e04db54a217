"""
Per-frame counters kept as plain ints and flushed to Prometheus once per tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime import metrics
from realtime.engine import sender


@dataclass(slots=True)
class Counts:
    """
    Frames and ops in, counted per frame: a prometheus_client `inc()` takes a lock, a sizeable
    part of what a frame costs inbound, so the hub adds them up once per tick instead.
    """

    frames_in: int = 0
    ops_in: int = 0

    def flush(self) -> None:
        if self.frames_in:
            metrics.FRAMES_IN.inc(self.frames_in)
            metrics.OPS_IN.inc(self.ops_in)
            self.frames_in = self.ops_in = 0
        frames_out = sender.SENT.take()
        if frames_out:
            metrics.FRAMES_OUT.inc(frames_out)
