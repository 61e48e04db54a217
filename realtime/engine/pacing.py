"""
When the hub's next tick may start: at once for ops while the process is lightly loaded, on the
tick's cadence otherwise (flush at once when the loop is idle, batch only under load).

Every tick costs the process a transaction and one frame per board per socket, whatever it
carries, so ticks are what batching saves. While the process has CPU to spare that saving buys
nothing and the wait for the tick is pure latency: an op is committed and delivered as soon as
it is read, and ops that arrive during a commit wait only for that commit (group commit). As the
process's CPU use grows, the gap between ticks grows with it, up to `tick_ms`, where every tick
carries as many ops as it can: the more load, the bigger the batches, which is what keeps the
cost per op-delivery low at saturation.

Cursors are not latency-critical and cost a frame per socket per flush; they stay on the tick's
cadence (a tick is "full" when `start` says so) however quickly ops go out.

Pure: the caller passes the wall clock (the event loop's) and the process's CPU clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: How far above the light threshold (`FLUSH_IDLE_CPU`, a share of one core used by all threads
#: of the process) the gap reaches the full `tick_ms`.
RAMP = 0.4
#: Shortest window the CPU use is measured over: shorter ones see one tick's burst.
WINDOW_SECS = 0.1
#: Weight of the newest window in the running CPU use: a few windows follow a change of load,
#: one busy window does not switch the pace.
SMOOTHING = 0.4
#: A timer may fire this much before its time (the loop's clock resolution); a full tick that
#: is that close is due.
EARLY_SECS = 0.001


@dataclass(slots=True)
class TickPacer:
    """
    The gap before the next tick, from the process's recent CPU use.
    """

    tick_secs: float
    #: CPU use (cores) below which ops go out at once (the setting `FLUSH_IDLE_CPU`); 0: never,
    #: every tick keeps `tick_secs` from the one before.
    light: float = 0.25
    #: Smoothed CPU use, in cores; starts light, as a fresh process is.
    load: float = 0.0
    _window_wall: float | None = field(default=None, repr=False)
    _window_cpu: float = field(default=0.0, repr=False)
    _last_tick: float = field(default=float("-inf"), repr=False)
    _last_full: float = field(default=float("-inf"), repr=False)

    def sample(self, wall: float, cpu: float) -> None:
        """
        Account the CPU used since the window began; close the window once it is long enough.
        """
        if self._window_wall is None or wall < self._window_wall:
            self._window_wall, self._window_cpu = wall, cpu
            return
        span = wall - self._window_wall
        if span < WINDOW_SECS:
            return
        used = max(0.0, cpu - self._window_cpu) / span
        self.load += SMOOTHING * (used - self.load)
        self._window_wall, self._window_cpu = wall, cpu

    def gap(self) -> float:
        """
        The least time between the starts of two ticks that carry ops, at the current load.
        """
        if self.light <= 0:
            return self.tick_secs
        share = (self.load - self.light) / RAMP
        return self.tick_secs * min(1.0, max(0.0, share))

    def delay(self, now: float, *, ops: bool, other: bool) -> float | None:
        """
        How long to wait before the next tick (None: until there is work): ops wait `gap()` from
        the last tick's start; anything else (cursors, presence, a tick that held cursors back)
        waits for a whole tick since the last full one.
        """
        waits = []
        if ops:
            waits.append(self._last_tick + self.gap() - now)
        if other:
            waits.append(self._last_full + self.tick_secs - now)
        return max(0.0, min(waits)) if waits else None

    def start(self, now: float) -> bool:
        """
        A tick starts now; return whether it is full: it flushes cursors, which go at most once
        per `tick_secs`.
        """
        self._last_tick = now
        if now - self._last_full >= self.tick_secs - EARLY_SECS:
            self._last_full = now
            return True
        return False
