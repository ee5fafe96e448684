"""Replies between partners: a tap soon after a touch was felt is "felt it"; two taps made within a
few seconds of each other are a shared moment. Every other touch keeps the meaning it was made
with: a double tap, a long press, anything sent from the dashboard, and "I need you" always.

Only a tap is ever shaped, and only into one of two replies:

- **felt it**: a tap within ``felt_it_window_s`` of a partner's signal being *delivered* here (on
  the button or the phone, not merely received or held), answering that signal once. The window
  runs on the hub's ``Clock`` from the delivery, so it is virtual wherever the clock is.
- **shared moment**: two taps, one from each partner, whose *creation* times (each hub stamps its
  signal when it is made; the envelope carries it) are within ``shared_s``. Arrival time does not
  count: a touch held up by a broker outage does not meet a touch made 13 s after it.

Both hubs decide a shared moment the same way, from the same two creation times, so both feeds
show the same meaning and the recipient's button plays it:

- The second tap's hub already has the first (received): it composes a ``shared_moment`` naming the
  first (``moment`` in the envelope body). The first keeps its meaning; it was felt as itself.
- The taps crossed (each hub made its tap before the other's arrived): each hub, when the
  partner's tap arrives, finds its own unpaired tap made within ``shared_s`` and makes both a
  shared moment, linked both ways. The other hub does the same on its side.

A signal's ``kind`` is its meaning: what the recipient's button plays and what both feeds show.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.clock import Clock
from hub.events import Direction, Gesture, SignalKind, SignalRecord
from hub.store.holds import Relation, SignalLinks
from hub.store.signals import SignalLog

# What a tap may be shaped from: "I need you" arrives as itself whatever gesture sends it, and a
# reply is never a reply to a reply.
_SHAPEABLE: Final = frozenset({SignalKind.THINKING_OF_YOU, SignalKind.CELEBRATE})
# Recent unpaired taps kept for pairing (each side); a shared moment is seconds wide, so a few do.
_RECENT_TAPS: Final = 16


@dataclass(frozen=True, slots=True)
class Shape:
    """What a touch means now, and the signal it answers or met (envelope body keys)."""

    kind: SignalKind
    links: Mapping[Relation, str]


@dataclass(frozen=True, slots=True)
class _Tap:
    signal_id: str
    created_at: datetime


class Moments:
    def __init__(
        self,
        links: SignalLinks,
        clock: Clock,
        *,
        felt_it_window_s: float,
        shared_s: float,
        signals: SignalLog | None = None,
    ) -> None:
        self._links = links
        self._signals = signals
        self._clock = clock
        self._felt_window = felt_it_window_s
        self._shared_s = shared_s
        self._last_felt: tuple[str, float] | None = None  # a partner's signal delivered here, when
        self._mine: deque[_Tap] = deque(maxlen=_RECENT_TAPS)  # our unpaired taps
        self._theirs: deque[_Tap] = deque(maxlen=_RECENT_TAPS)  # the partner's unpaired taps

    # -- our touch ----------------------------------------------------------------------------
    def shape(self, gesture: Gesture | None, kind: SignalKind, now: datetime) -> Shape:
        """What this person's touch made ``now`` means: itself, a shared moment, or "felt it".
        ``gesture`` None: sent from the dashboard, by choice, so never shaped."""
        if gesture is not Gesture.TAP or kind not in _SHAPEABLE:
            return Shape(kind, {})
        theirs = self._within(self._theirs, now)
        if theirs is not None:
            return Shape(SignalKind.SHARED_MOMENT, {"moment": theirs.signal_id})
        felt = self._last_felt
        if (
            felt is not None
            and self._clock.monotonic() - felt[1] <= self._felt_window
            and not self._links.answered(felt[0], "felt")
        ):
            return Shape(SignalKind.FELT_IT, {"felt": felt[0]})
        return Shape(kind, {})

    def composed(self, record: SignalRecord, gesture: Gesture | None) -> None:
        """Our signal was stored as ``record``: an unshaped tap may still meet a crossing tap."""
        if gesture is Gesture.TAP and record.kind in _SHAPEABLE:
            self._mine.append(_Tap(record.id, record.created_at))

    # -- the partner's signal -------------------------------------------------------------------
    def arrived(
        self, record: SignalRecord, gesture: Gesture | None, links: Mapping[Relation, str]
    ) -> SignalKind:
        """The partner's signal, as it is stored (in the inbox's transaction): its meaning here.
        A tap that crossed one of ours makes both a shared moment (our stored one too)."""
        if "moment" in links:  # their hub paired it with a tap of ours it had received
            return record.kind
        if gesture is not Gesture.TAP or record.kind not in _SHAPEABLE:
            return record.kind
        mine = self._within(self._mine, record.created_at)
        if mine is None:
            self._theirs.append(_Tap(record.id, record.created_at))
            return record.kind
        self._links.add(record.id, "moment", mine.signal_id)
        self._links.add(mine.signal_id, "moment", record.id)
        if self._signals is not None:
            self._signals.set_kind(mine.signal_id, SignalKind.SHARED_MOMENT, Direction.SENT)
        return SignalKind.SHARED_MOMENT

    def delivered(self, record: SignalRecord) -> None:
        """The partner's signal reached this person (button or phone): a tap may answer it now."""
        if record.kind is not SignalKind.FELT_IT:
            self._last_felt = (record.id, self._clock.monotonic())

    def _within(self, taps: deque[_Tap], at: datetime) -> _Tap | None:
        """The earliest unpaired tap made within the shared-moment window of ``at`` (creation
        times). Paired means linked as a moment in the store, so a rolled-back transaction
        leaves a tap free to pair again."""
        for tap in taps:
            if abs((tap.created_at - at).total_seconds()) > self._shared_s:
                continue
            if self._links.ref(tap.signal_id, "moment") is None and not self._links.answered(
                tap.signal_id, "moment"
            ):
                return tap
        return None
