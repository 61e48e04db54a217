"""
Per-socket token buckets on ops and bytes, and the strike count that turns abuse into a close.

A client over budget gets `rate_limited` errors; one that keeps pushing after STRIKES_TO_CLOSE
refusals within STRIKE_WINDOW_SECS is closed with 4029. Time comes from the event loop's
monotonic clock, passed in, so the buckets are pure and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Refusals tolerated before closing with 4029: a client that honours `rate_limited` (backs
#: off and resends) never gets near it; one that ignores it does within a second or two.
STRIKES_TO_CLOSE = 20
#: Refusals older than this are forgotten, so a burst long ago does not count against a client.
STRIKE_WINDOW_SECS = 10.0


@dataclass(slots=True)
class TokenBucket:
    """
    `rate` tokens per second, at most `burst` saved up.
    """

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, amount: float, now: float) -> bool:
        """
        Take `amount` tokens if there are that many; False (and nothing taken) otherwise.
        """
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if amount > self.tokens:
            return False
        self.tokens -= amount
        return True


@dataclass(slots=True)
class RateLimiter:
    """
    The ops and bytes budgets of one socket plus its recent refusals.
    """

    ops: TokenBucket
    bytes: TokenBucket
    strikes: int = 0
    first_strike: float = 0.0

    @classmethod
    def create(
        cls, *, ops_per_sec: float, ops_burst: float, bytes_per_sec: float, bytes_burst: float
    ) -> RateLimiter:
        return cls(
            ops=TokenBucket(ops_per_sec, ops_burst), bytes=TokenBucket(bytes_per_sec, bytes_burst)
        )

    @classmethod
    def from_settings(cls) -> RateLimiter:
        """
        A fresh limiter with the budgets of the realtime settings (protocol §5).
        """
        from realtime.conf import realtime_settings

        conf = realtime_settings()
        return cls.create(
            ops_per_sec=conf.ops_per_sec,
            ops_burst=conf.ops_burst,
            bytes_per_sec=conf.bytes_per_sec,
            bytes_burst=conf.bytes_burst,
        )

    def allow(self, n_ops: int, n_bytes: int, now: float) -> bool:
        """
        True when a frame of `n_ops` ops and `n_bytes` bytes fits both budgets.
        """
        if self.ops.take(n_ops, now):
            if self.bytes.take(n_bytes, now):
                return True
            self.ops.tokens += n_ops  # give back: the frame as a whole is refused
        if now - self.first_strike > STRIKE_WINDOW_SECS:
            self.strikes, self.first_strike = 0, now
        self.strikes += 1
        return False

    @property
    def abusive(self) -> bool:
        """
        True once the client ignored enough refusals to be disconnected.
        """
        return self.strikes >= STRIKES_TO_CLOSE
