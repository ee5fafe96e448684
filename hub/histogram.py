"""A cumulative histogram of seconds (the relay's publish -> PUBACK latency, shown at /metrics)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from typing import Final

# publish -> PUBACK: ~1 ms on loopback, tens of ms to a hosted broker, seconds when a link is
# congested, minutes when a publish waited for a reconnect (it is timed from the first attempt).
PUBLISH_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    """A cumulative histogram of seconds. Used from the event loop thread only."""

    def __init__(self, buckets: Iterable[float] = PUBLISH_LATENCY_BUCKETS) -> None:
        self.buckets: tuple[float, ...] = tuple(sorted(buckets))
        if not self.buckets or any(math.isnan(b) or b <= 0 for b in self.buckets):
            raise ValueError("histogram buckets must be positive numbers")
        self._counts = [0] * len(self.buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        if math.isnan(seconds) or seconds < 0:
            return  # a clock oddity is not a measurement
        index = bisect.bisect_left(self.buckets, seconds)
        if index < len(self._counts):
            self._counts[index] += 1
        self.count += 1
        self.sum += seconds

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= bound), ending with (+Inf, count)."""
        running, out = 0, []
        for bound, count in zip(self.buckets, self._counts, strict=True):
            running += count
            out.append((bound, running))
        out.append((math.inf, self.count))
        return out
