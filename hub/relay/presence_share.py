"""Sharing this home's person's presence with the partner's hub (so its delivery routing knows
where they are), through the relay like every payload: sealed, on change, throttled.

Wiring: ``PresenceSharer(relay, presence.states, clock, share=config.presence.share).run()`` as
one of the hub's tasks. It polls the presence service's current states (cheap: a dict) each
second, and sends when this home's person's state changed, at most once per ``MIN_INTERVAL_S``
(a flapping state sends its latest value when the interval is over), and again every
``REFRESH_S`` unchanged (it is receipted and resent like a signal; the refresh mends a partner
hub whose stored state was lost).
Paused (``share = False``): nothing is sent and anything not yet published is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from hub.clock import Clock
from hub.presence.service import PresenceState
from hub.relay.relay import Relay

TICK_S: Final = 1.0
# A partner arriving and leaving within seconds is one change for the other home, not five.
MIN_INTERVAL_S: Final = 30.0
# The partner's hub restarts, a broker loses an unsaved message: a quiet refresh mends both.
REFRESH_S: Final = 900.0


class PresenceSharer:
    def __init__(
        self,
        relay: Relay,
        states: Callable[[], Iterable[PresenceState]],
        clock: Clock,
        *,
        share: bool = True,
        min_interval_s: float = MIN_INTERVAL_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._relay = relay
        self._states = states
        self._clock = clock
        self._share = share
        self._min_interval_s = min_interval_s
        self._refresh_s = refresh_s
        self._last: tuple[bool, datetime | None] | None = None
        self._last_at: float | None = None
        self.sent = 0

    @property
    def sharing(self) -> bool:
        return self._share

    def pause(self) -> None:
        self._share = False
        self._relay.drop_queued_presence()

    def resume(self) -> None:
        self._share = True
        self._last = None  # tell the partner's hub the current state at the next tick

    def tick(self) -> bool:
        """Send if due; True if a presence message was queued."""
        if not self._share:
            return False
        person = self._relay.identity.person
        state = next((s for s in self._states() if s.person == person), None)
        if state is None:
            return False
        key = (state.present, state.since)
        now = self._clock.monotonic()
        since_last = None if self._last_at is None else now - self._last_at
        if key == self._last and since_last is not None and since_last < self._refresh_s:
            return False
        if since_last is not None and since_last < self._min_interval_s:
            return False
        self._relay.send_presence(person, present=state.present, since=state.since)
        self._last, self._last_at = key, now
        self.sent += 1
        return True

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_S)
