"""Choose how a received signal reaches the person, and report its fate.

Button first: a Heartline button of the person who lives here gets an authenticated haptic
command. If there is none, or none confirmed in time (out of range, asleep in a drawer), the
phone gets a notification. Either way the signal ends delivered or failed, with a reason.
Presence-aware routing and quiet hours build on this (they decide *whether* and *when*).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hub.ble.feedback import FeedbackSender
from hub.delivery.phone import PhoneNotifier
from hub.errors import FeedbackError
from hub.events import Channel, Fate, SignalRecord
from hub.store.buttons import ButtonRegistry

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    fate: Fate
    channel: Channel | None
    reason: str | None


class DeliveryRouter:
    def __init__(
        self,
        *,
        person: str,
        partner: str,
        registry: ButtonRegistry,
        feedback: FeedbackSender,
        phone: PhoneNotifier,
    ) -> None:
        self._person = person
        self._partner = partner
        self._registry = registry
        self._feedback = feedback
        self._phone = phone

    async def deliver(self, signal: SignalRecord) -> Outcome:
        reasons: list[str] = []
        buttons = [b for b in self._registry.by_owner(self._person) if b.kind == "heartline"]
        if not buttons:
            reasons.append("no button registered")
        for button in buttons:
            try:
                await self._feedback.send(button, signal.kind)
            except FeedbackError as ex:
                _LOGGER.info("button %d did not confirm: %s", button.id, ex)
                reasons.append(f"button {button.id}: {ex.reason}")
                continue
            return Outcome(Fate.DELIVERED, Channel.BUTTON, None)
        if await self._phone.notify(signal.kind, self._partner):
            return Outcome(Fate.DELIVERED, Channel.PHONE, "; ".join(reasons) or None)
        reasons.append("phone notification failed" if self._phone.configured else "no phone configured")
        return Outcome(Fate.FAILED, None, "; ".join(reasons))
