"""Choose how a received signal reaches the person, and report its fate.

Recipient at home: their Heartline button gets an authenticated haptic command. Recipient away
(presence says so), or no button confirmed in time (out of range, asleep in a drawer): their
phone gets a notification. Away with no phone configured, the signal is held until they are home
(``AWAY_NO_PHONE``; the delivery service releases it when presence sees them back). Otherwise
the signal ends delivered or failed, with a reason.
Quiet hours and rate limits build on this (they decide *whether* and *when*).

A sleepy button (a wearable between listen windows) is waited for: the signal shows as held
("waiting for Sam's button to listen, next window in ~40 s") and goes to the phone only if the
window passes without the button confirming, or at once when presence says the person is away.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from hub.ble.feedback import FeedbackSender
from hub.delivery.phone import PhoneNotifier
from hub.errors import FeedbackError
from hub.events import Channel, Fate, SignalKind, SignalRecord
from hub.store.buttons import ButtonRecord, ButtonRegistry

_LOGGER = logging.getLogger(__name__)


# How each kind is named in a summary ("3 thinking of you, 1 celebrate").
SUMMARY_WORDS: Final = {
    SignalKind.THINKING_OF_YOU: "thinking of you",
    SignalKind.CELEBRATE: "proud of you",
    SignalKind.NEED_YOU: "I need you",
    SignalKind.FELT_IT: "felt it",
    SignalKind.SHARED_MOMENT: "shared moment",
}
# A summary is gentle: the softest haptic, once, whatever it summarises.
SUMMARY_LOOK: Final = SignalKind.FELT_IT


# Why a signal waits for its recipient to come home: away, and nothing else can reach them.
AWAY_NO_PHONE: Final = "away; no phone configured — held until they are home"

# Told, before a delivery waits for a sleepy button's window, why the signal is held for now.
Waiting = Callable[[str], Awaitable[None]]


def waiting_text(person: str, next_window_s: float) -> str:
    return f"waiting for {person}'s button to listen (next window in ~{max(round(next_window_s), 1)} s)"


@dataclass(frozen=True, slots=True)
class Outcome:
    fate: Fate
    channel: Channel | None
    reason: str | None


class Reach(Protocol):
    """How a signal reaches the person who lives here (their button, else their phone)."""

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome: ...

    async def deliver_summary(self, signals: Sequence[SignalRecord], why: str) -> Outcome: ...


def summary_text(signals: Sequence[SignalRecord], partner: str, why: str) -> tuple[str, str]:
    counts = Counter(s.kind for s in signals)
    parts = ", ".join(f"{n} {SUMMARY_WORDS[k]}" for k, n in counts.most_common())
    touches = "touch" if len(signals) == 1 else "touches"
    return f"{len(signals)} {touches} from {partner}", f"{why}, {partner} reached out: {parts}."


class VisitReach(Protocol):
    """Our person's wearable at the partner's home, written there by the partner's hub."""

    def visiting(self) -> bool: ...

    async def send(self, button: ButtonRecord, kind: SignalKind) -> None: ...


class DeliveryRouter:
    def __init__(
        self,
        *,
        person: str,
        partner: str,
        registry: ButtonRegistry,
        feedback: FeedbackSender,
        phone: PhoneNotifier,
        is_away: Callable[[], bool] = lambda: False,
    ) -> None:
        self._is_away = is_away  # True only when presence knows the person left: a home puck stays quiet
        self._person = person
        self._partner = partner
        self._registry = registry
        self._feedback = feedback
        self._phone = phone
        self.visit: VisitReach | None = None  # set once the relay is up

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        """Button (with ``look``, default the signal's own kind), else phone. ``waiting`` hears
        why the signal is held while a sleepy button's window is awaited."""
        kind = look or signal.kind
        reasons: list[str] = []
        if await self._button(kind, reasons, waiting):
            return Outcome(Fate.DELIVERED, Channel.BUTTON, None)
        if self._held_until_home():
            return Outcome(Fate.HELD, None, AWAY_NO_PHONE)
        if await self._phone.notify(kind, self._partner):
            return Outcome(Fate.DELIVERED, Channel.PHONE, "; ".join(reasons) or None)
        reasons.append("phone notification failed" if self._phone.configured else "no phone configured")
        return Outcome(Fate.FAILED, None, "; ".join(reasons))

    async def deliver_summary(self, signals: Sequence[SignalRecord], why: str) -> Outcome:
        """Many held signals as one gentle touch on the button, else one phone notification."""
        reasons: list[str] = []
        if await self._button(SUMMARY_LOOK, reasons):
            return Outcome(Fate.DELIVERED, Channel.BUTTON, None)
        if self._held_until_home():
            return Outcome(Fate.HELD, None, AWAY_NO_PHONE)
        title, body = summary_text(signals, self._partner, why)
        if await self._phone.notify_text(title, body):
            return Outcome(Fate.DELIVERED, Channel.PHONE, "; ".join(reasons) or None)
        reasons.append("phone notification failed" if self._phone.configured else "no phone configured")
        return Outcome(Fate.FAILED, None, "; ".join(reasons))

    def _held_until_home(self) -> bool:
        """Away with no phone: nothing can reach them until they are back."""
        return not self._phone.configured and self._is_away()

    async def _button(self, kind: SignalKind, reasons: list[str], waiting: Waiting | None = None) -> bool:
        visit = self.visit
        # The partner's hub says both are at its home (before this hub may have seen them go):
        # the wearable is there, written by that hub; else this home's buttons as ever.
        if visit is not None and visit.visiting() and await self._visiting_button(visit, kind, reasons):
            return True
        if self._is_away():
            reasons.append(f"{self._person} is away from home")
            return False
        buttons = [b for b in self._registry.by_owner(self._person) if b.kind == "heartline"]
        if not buttons:
            reasons.append("no button registered")
        person = self._person

        async def on_wait(next_window_s: float) -> None:
            if waiting is not None:
                await waiting(waiting_text(person, next_window_s))

        for button in buttons:
            try:
                await self._feedback.send(button, kind, on_wait=on_wait)
            except FeedbackError as ex:
                _LOGGER.info("button %d did not confirm: %s", button.id, ex)
                reasons.append(f"button {button.id}: {ex.reason}")
                continue
            return True
        return False

    async def _visiting_button(self, visit: VisitReach, kind: SignalKind, reasons: list[str]) -> bool:
        """With the partner at their home: the partner's hub writes what this hub sealed."""
        buttons = [b for b in self._registry.by_owner(self._person) if b.kind == "heartline"]
        if not buttons:
            reasons.append(f"{self._person} is visiting; no button registered")
        for button in buttons:
            try:
                await visit.send(button, kind)
            except FeedbackError as ex:
                _LOGGER.info("button %d at the partner's home did not confirm: %s", button.id, ex)
                reasons.append(f"button {button.id} at {self._partner}'s home: {ex.reason}")
                continue
            return True
        return False
