"""Touches made on a visiting partner's wearable: the host's hub hears them, the wearer's sends them.

At Alex's home, Sam's wearable is known (the hubs share their people's wearables,
``hub.presence.wearables``), so Alex's hub decodes and authenticates its touches like Alex's own.
But the touch is Sam's: it means what Sam's settings say, it belongs in Sam's log, and it goes to
Alex like any other. So the host's hub hands the gesture on over the relay (the ``touch`` kind,
enqueued in the same transaction as the wearable's advert counter); Sam's hub composes the signal
as if it had heard the touch itself and relays it to Alex's hub, whose delivery buzzes Alex's
button, in the same room.

The other way round, a touch from Alex while Sam is there should buzz Sam's wearable there. Only
Sam's hub may seal commands for it (the wearable refuses a counter it has seen: two hubs counting
would refuse each other), so Sam's hub, told by Alex's that both are at Alex's home (an open
together span, ``hub.presence.together``), seals the haptic command with its own counter and sends
it over the relay (the ``command`` kind); Alex's hub writes it to the wearable and its receipt
says what the wearable answered: delivered by button, or failed (then Sam's hub tries the phone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Final

from hub.ble.feedback import FeedbackSender, seal_feedback
from hub.errors import FeedbackError
from hub.events import Channel, Fate, Gesture, SignalKind, SignalRecord, TouchEvent
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database

_LOGGER = logging.getLogger(__name__)

TOUCH_PREFIX: Final = "touch-"
MAX_PERSON_LENGTH: Final = 64
# A handed-on touch's body, checked before ``received`` (anything else: bad_touch).
TOUCH_BODY: Final[BodySchema] = {
    "gesture": BodyField("choice", choices=frozenset(g.value for g in Gesture)),
    "person": BodyField("text", max_length=MAX_PERSON_LENGTH),
    "heard_at": BodyField("time"),
    "address": BodyField("text", max_length=17),
    "counter": BodyField("count"),  # the wearable's advert counter: its own hub knows a repeat
}


class VisitTouches:
    """Both ends: hand on a partner's touch heard here; send our person's touch heard there."""

    def __init__(self, *, relay: Relay, person: str) -> None:
        self._relay = relay
        self._person = person
        self._compose: Callable[[Gesture], SignalRecord] | None = None
        self._announce: Callable[[str], None] = lambda _id: None
        self._new: Callable[[str, int], bool] = lambda _address, _counter: True
        self.handed_on = 0
        self.composed = 0
        relay.register(EnvelopeKind.TOUCH, self, body=TOUCH_BODY, id_prefix=TOUCH_PREFIX)

    def attach(self, compose: Callable[[Gesture], SignalRecord], announce: Callable[[str], None]) -> None:
        """``compose``: a signal from a gesture, in the caller's transaction."""
        self._compose, self._announce = compose, announce

    def check_counters(self, new: Callable[[str, int], bool]) -> None:
        """``new(address, counter)``: False for a touch this hub already heard or was handed
        (a button repeats its last advert for a while, and carries it from home to home)."""
        self._new = new

    def hand_on(self, event: TouchEvent) -> None:
        """A touch on the partner's wearable, heard here; call in the touch's transaction."""
        body = {
            "gesture": event.gesture.value,
            "person": event.owner,
            "heard_at": event.at.isoformat(),
            "address": event.address.upper(),
            "counter": event.counter,
        }
        self._relay.enqueue(EnvelopeKind.TOUCH, body, message_id=TOUCH_PREFIX + new_message_id())
        self.handed_on += 1
        _LOGGER.info("%s's touch (%s) heard here; handed on to their hub", event.owner, event.gesture.value)

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        person = envelope.body["person"]
        compose, announce = self._compose, self._announce
        if person != self._person or compose is None:  # never ours to send: said, not dropped
            self._relay.rejected["bad_touch"] += 1
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, f"{person} does not live at this hub")
            return None
        if not self._new(str(envelope.body["address"]), int(envelope.body["counter"])):
            self._relay.rejected["touch_already_sent"] += 1  # the same touch, heard twice: one signal
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, "this touch was already sent")
            return None
        record = compose(Gesture(envelope.body["gesture"]))
        self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        self.composed += 1
        return lambda: announce(record.id)

    def duplicate(self, envelope: Envelope) -> None:
        if self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        for receipt in receipts:
            if receipt.fate is Fate.FAILED:
                _LOGGER.warning("the partner's hub refused a touch handed on to it: %s", receipt.reason)
        return {receipt.ref for receipt in receipts}

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None


COMMAND_PREFIX: Final = "command-"
# A sealed command frame (device.command.FRAME_LEN bytes) as hex, for the wearable at ``address``.
COMMAND_BODY: Final[BodySchema] = {
    "address": BodyField("text", max_length=17),
    "frame": BodyField("text", max_length=64),
    "counter": BodyField("count"),
}


class VisitButtons:
    """Both ends of a command for a visiting wearable: seal ours, write the partner's here."""

    def __init__(
        self,
        *,
        relay: Relay,
        db: Database,
        feedback: FeedbackSender,
        partner: str,
        visiting: Callable[[], bool],
        within_s: float,
    ) -> None:
        self._relay = relay
        self._db = db
        self._registry = ButtonRegistry(db)
        self._feedback = feedback
        self._partner = partner
        self._visiting = visiting  # our person is at the partner's home, with them
        self._within_s = within_s  # the relay both ways and the partner's hub's write
        self._waiting: dict[str, asyncio.Future[Receipt]] = {}
        self._written: dict[str, tuple[Fate, Channel | None, str | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.written = 0
        relay.register(EnvelopeKind.COMMAND, self, body=COMMAND_BODY, id_prefix=COMMAND_PREFIX)

    def visiting(self) -> bool:
        return self._visiting()

    async def send(self, button: ButtonRecord, kind: SignalKind) -> None:
        """Our person's wearable, at the partner's home: seal ``kind`` with our own counter and
        have the partner's hub write it. Returns once the wearable accepted it; else FeedbackError."""
        message_id = COMMAND_PREFIX + new_message_id()
        with self._db.transaction():
            counter = self._registry.next_command_counter(button.id)
            frame = seal_feedback(button, kind, counter)
            body = {"address": button.address.upper(), "frame": frame.hex(), "counter": counter}
            self._relay.enqueue(EnvelopeKind.COMMAND, body, message_id=message_id)
        self.sent += 1
        answer: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = answer
        try:
            async with asyncio.timeout(self._within_s):
                receipt = await answer
        except TimeoutError as ex:
            self._relay.drop_queued(message_id)  # too late to play it: never written later
            raise FeedbackError(
                button.address, "visit_timeout", f"the partner's hub did not answer in {self._within_s:.0f} s"
            ) from ex
        finally:
            self._waiting.pop(message_id, None)
        if receipt.fate is not Fate.DELIVERED:
            raise FeedbackError(
                button.address, "visit_failed", receipt.reason or "failed at the partner's home"
            )

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        address = str(envelope.body["address"]).upper()
        button = self._registry.by_address(address)
        frame_hex = str(envelope.body["frame"])
        try:
            frame = bytes.fromhex(frame_hex)
        except ValueError:
            frame = b""
        if button is None or button.owner != self._partner or not frame:
            self._relay.rejected["bad_command"] += 1
            why = "not a wearable of the partner known here" if frame else "a frame that is not hex"
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, f"{address}: {why}")
            return None
        counter = int(envelope.body["counter"])
        return lambda: self._start(envelope.id, button, frame, counter)

    def _start(self, message_id: str, button: ButtonRecord, frame: bytes, counter: int) -> None:
        task = asyncio.get_running_loop().create_task(self._write(message_id, button, frame, counter))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, message_id: str, button: ButtonRecord, frame: bytes, counter: int) -> None:
        try:
            await self._feedback.send_sealed(button, frame, counter)
        except FeedbackError as ex:
            outcome: tuple[Fate, Channel | None, str | None] = (Fate.FAILED, None, f"button: {ex.reason}")
        else:
            outcome = (Fate.DELIVERED, Channel.BUTTON, None)
            self.written += 1
        self._written[message_id] = outcome
        with self._db.transaction():
            self._relay.queue_receipt(message_id, *outcome)

    def duplicate(self, envelope: Envelope) -> None:
        outcome = self._written.get(envelope.id)  # still being written: its receipt follows
        if outcome is not None and self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, *outcome)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        for receipt in receipts:
            answer = self._waiting.get(receipt.ref)
            if answer is not None and not answer.done():
                answer.set_result(receipt)
        return {receipt.ref for receipt in receipts}

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None
