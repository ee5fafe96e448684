"""A sliding-window limit on signals a minute, so a stuck button cannot buzz a partner all night."""

from __future__ import annotations

from collections import deque
from typing import Final

from hub.clock import Clock

WINDOW_S: Final = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._recent: deque[float] = deque()

    def admit(self) -> bool:
        """True (and counted) if one more signal fits in the last minute."""
        now = self._clock.monotonic()
        while self._recent and now - self._recent[0] >= WINDOW_S:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            return False
        self._recent.append(now)
        return True
