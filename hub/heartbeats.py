"""Heartbeats: each long-running loop promises its next beat; a missed promise is a wedge.

A loop about to wait 300 s on purpose says so (``beat(name, 300 + margin)``), so a long,
legitimate wait is never mistaken for a hang. systemd's watchdog (hub.systemd) is fed only while
every promise is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Heartbeats:
    """Loops promise their next beat: ``beat(name, within_s)``. A missed promise is a wedge."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._deadlines: dict[str, float] = {}

    def expect(self, name: str, within_s: float) -> None:
        """A loop that must beat for the first time within ``within_s`` (from now)."""
        self._deadlines.setdefault(name, self._monotonic() + within_s)

    def beat(self, name: str, within_s: float) -> None:
        self._deadlines[name] = self._monotonic() + within_s

    def forget(self, name: str) -> None:
        """A loop that ended on purpose."""
        self._deadlines.pop(name, None)

    def overdue(self) -> list[str]:
        now = self._monotonic()
        return sorted(name for name, deadline in self._deadlines.items() if now > deadline)
