"""Replies between partners: a touch soon after a delivered signal is "felt it"; touches within a
few seconds of each other are a shared moment.

Decided by each hub on its own clock (``Clock.monotonic``), so clock skew between the homes
never matters. A "felt it" names the signal it answers and a shared moment the partner's
signal it met (``felt`` / ``moment`` in the envelope body), so both homes show the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.clock import Clock
from hub.events import SignalKind, SignalRecord
from hub.store.holds import SignalLinks

# "I need you" is never turned into a reply: it must arrive as itself.
_NEVER_A_REPLY = frozenset({SignalKind.NEED_YOU, SignalKind.FELT_IT})


class Moments:
    def __init__(self, links: SignalLinks, clock: Clock, *, felt_it_window_s: float, shared_s: float) -> None:
        self._links = links
        self._clock = clock
        self._felt_window = felt_it_window_s
        self._shared_s = shared_s
        self._last_received: tuple[str, float] | None = None
        self._last_delivered: tuple[str, float] | None = None
        self._last_touch: float | None = None

    def shape(self, kind: SignalKind) -> tuple[SignalKind, Mapping[str, str]]:
        """What this person's touch means now: itself, part of a shared moment, or "felt it"."""
        now = self._clock.monotonic()
        self._last_touch = now
        if self._last_received is not None and now - self._last_received[1] <= self._shared_s:
            return kind, {"moment": self._last_received[0]}
        if (
            kind not in _NEVER_A_REPLY
            and self._last_delivered is not None
            and now - self._last_delivered[1] <= self._felt_window
            and not self._links.answered(self._last_delivered[0], "felt")
        ):
            return SignalKind.FELT_IT, {"felt": self._last_delivered[0]}
        return kind, {}

    def received(self, record: SignalRecord) -> None:
        if record.kind is not SignalKind.FELT_IT:
            self._last_received = (record.id, self._clock.monotonic())

    def look(self, record: SignalRecord) -> SignalKind | None:
        """SHARED_MOMENT if this partner signal met a touch of ours; None for its own look."""
        if record.kind is SignalKind.FELT_IT:
            return None
        if self._links.ref(record.id, "moment") is not None:
            return SignalKind.SHARED_MOMENT
        if self._last_touch is not None and self._clock.monotonic() - self._last_touch <= self._shared_s:
            return SignalKind.SHARED_MOMENT
        return None

    def delivered(self, record: SignalRecord) -> None:
        if record.kind is not SignalKind.FELT_IT:
            self._last_delivered = (record.id, self._clock.monotonic())
