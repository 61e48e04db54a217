"""
A latency histogram with log-linear buckets (about 3 % resolution), cheap to record and merge.

Workers record hundreds of thousands of latencies per second; keeping every sample would cost
memory and a sort, and shipping them between processes would cost more. A fixed bucket array
is recorded with a few integer operations and merged by adding arrays. The deliveries of one
received `ops` frame share their receive time, so `record_ends` records them as a batch: one
table lookup per value, with count, sum and max worked out once per batch.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

#: Values below this many microseconds get one bucket each (exact).
_LINEAR_US = 64
#: Sub-buckets per power of two above _LINEAR_US: 32 gives ~3 % relative resolution.
_SUB_BITS = 5
#: Enough buckets for ~2^40 µs (12 days): nothing we measure is longer.
NBUCKETS = _LINEAR_US + 35 * (1 << _SUB_BITS)


#: Values below this many µs (about 1 s) find their bucket in `_BUCKET_TABLE`; an array lookup
#: is ~4x cheaper than bucket_of's arithmetic. 2^20 two-byte entries cost 2 MiB per process,
#: and slower deliveries than 1 s only occur in runs that already failed their goal.
_TABLE_US = 1 << 20


def bucket_of(value_us: int) -> int:
    """
    Return the bucket index of a non-negative value in microseconds.
    """
    if value_us < _LINEAR_US:
        return value_us if value_us > 0 else 0
    shift = value_us.bit_length() - (_SUB_BITS + 1)
    return _LINEAR_US + (shift - 1) * (1 << _SUB_BITS) + (value_us >> shift) - (1 << _SUB_BITS)


def bucket_value(index: int) -> float:
    """
    Return the midpoint (in µs) of a bucket.
    """
    if index < _LINEAR_US:
        return float(index)
    shift = (index - _LINEAR_US) // (1 << _SUB_BITS) + 1
    mantissa = (index - _LINEAR_US) % (1 << _SUB_BITS) + (1 << _SUB_BITS)
    low = mantissa << shift
    return low + ((1 << shift) - 1) / 2


def bucket_low(index: int) -> int:
    """
    Return the smallest value (in µs) that falls into a bucket.
    """
    if index < _LINEAR_US:
        return index
    shift = (index - _LINEAR_US) // (1 << _SUB_BITS) + 1
    return ((index - _LINEAR_US) % (1 << _SUB_BITS) + (1 << _SUB_BITS)) << shift


def _bucket_table() -> array[int]:
    # An array, not a list: a list of a million pointers is traversed by every full garbage
    # collection of the worker (pauses of ~35 ms, counted as delivery latency).
    table: array[int] = array("H")
    index = 0
    while len(table) < _TABLE_US:
        table.extend([index] * (min(bucket_low(index + 1), _TABLE_US) - len(table)))
        index += 1
    return table


_BUCKET_TABLE = _bucket_table()


class Starts:
    """
    The start times (µs) of a batch of samples that end together, with their sum and range.

    Built once per distinct received frame and recorded once per receiver of it.
    """

    __slots__ = ("earliest", "latest", "times", "total")

    def __init__(self, times: Sequence[int]) -> None:
        self.times = tuple(times)
        self.total = sum(self.times)
        self.earliest = min(self.times, default=0)
        self.latest = max(self.times, default=0)


class Histogram:
    """
    Counts of latencies (µs) per bucket, plus exact count, sum and max.
    """

    __slots__ = ("buckets", "count", "max", "total")

    def __init__(self) -> None:
        self.buckets = [0] * NBUCKETS
        self.count = 0
        self.total = 0
        self.max = 0

    def record(self, value_us: int) -> None:
        if value_us < 0:
            value_us = 0
        self.buckets[bucket_of(value_us)] += 1
        self.count += 1
        self.total += value_us
        if value_us > self.max:
            self.max = value_us

    def record_ends(self, end_us: int, starts: Starts) -> None:
        """
        Record `end_us - t` for every t in starts: exactly what `record` would do for each.
        """
        times = starts.times
        if not times:
            return
        longest = end_us - starts.earliest
        if end_us < starts.latest or longest >= _TABLE_US:
            # A negative or very long value: clamp and bucket one by one.
            for t in times:
                self.record(end_us - t)
            return
        buckets = self.buckets
        table = _BUCKET_TABLE
        for t in times:
            buckets[table[end_us - t]] += 1
        self.count += len(times)
        self.total += len(times) * end_us - starts.total
        if longest > self.max:
            self.max = longest

    def merge(self, other: Histogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float:
        """
        Return the q-th percentile (0..100) in µs; 0.0 when empty.
        """
        if not self.count:
            return 0.0
        rank = q / 100 * self.count
        seen = 0
        for index, n in enumerate(self.buckets):
            seen += n
            if n and seen >= rank:
                return min(bucket_value(index), float(self.max))
        return float(self.max)

    def summary_ms(self) -> dict[str, float]:
        """
        Return p50/p90/p99/p999/max/mean in milliseconds, rounded to 0.01 ms.
        """
        out = {f"p{k}": self.percentile(q) / 1000 for k, q in _QUANTILES}
        out["max"] = self.max / 1000
        out["mean"] = self.total / self.count / 1000 if self.count else 0.0
        return {k: round(v, 2) for k, v in out.items()}

    def to_state(self) -> tuple[list[int], int, int, int]:
        return (self.buckets, self.count, self.total, self.max)

    @classmethod
    def from_state(cls, state: Iterable[object]) -> Histogram:
        buckets, count, total, vmax = state  # type: ignore[misc]
        hist = cls()
        hist.buckets = list(buckets)
        hist.count, hist.total, hist.max = int(count), int(total), int(vmax)
        return hist


_QUANTILES = (("50", 50.0), ("90", 90.0), ("99", 99.0), ("999", 99.9))
