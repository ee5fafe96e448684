"""The joined hub's first word to the inviting hub: its invite nonce, so the code works once.

``heartline couple join`` leaves the nonce in the data dir; at every start until the inviting hub
answered, the hub queues one hello carrying it (durably, through the relay's outbox; a hello
already waiting is not queued twice). The inviting hub redeems the nonce in its ledger once and
answers with a receipt: delivered = accepted, failed = refused and why. The answer removes the
file, accepted or refused: a refused code will not be accepted later either, and the log says
what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Final

from hub.clock import Clock
from hub.couple.invite import NONCE_FILE, InviteError
from hub.couple.ledger import InviteLedger
from hub.events import Fate
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.database import Database

_LOGGER = logging.getLogger(__name__)

MAX_NONCE_LENGTH: Final = 64
# A hello's body: its invite nonce, checked before ``received`` (too long or missing: bad_hello).
HELLO_BODY: Final[BodySchema] = {"nonce": BodyField("text", max_length=MAX_NONCE_LENGTH)}
# Hello ids are marked, so the hello's answer (a receipt) finds its way back here.
HELLO_PREFIX: Final = "hello-"
# Why the inviting hub refuses a hello, counted in ``rejected`` and explained in one log line.
_REFUSALS: Final = {
    "used": (
        "invite_reused",
        (
            "the invite code was already used (a second device joining with the same code?); "
            "make a new one with `heartline couple invite`"
        ),
    ),
    "unknown": ("invite_unknown", "this hub never issued that invite code"),
    "expired": ("invite_expired", "the invite code expired before the partner's hub first said hello"),
}

Answered = Callable[[bool, str | None], None]


class HelloExchange:
    """Both sides of the hello: sending ours, answering the partner's."""

    def __init__(self, *, relay: Relay, db: Database, invites: InviteLedger, clock: Clock) -> None:
        self._relay = relay
        self._db = db
        self._invites = invites
        self._clock = clock
        self._answered: Answered | None = None
        # This hub's own hello: None until answered, then (accepted, reason).
        self.result: tuple[bool, str | None] | None = None
        relay.register(EnvelopeKind.HELLO, self, body=HELLO_BODY, id_prefix=HELLO_PREFIX)

    def send(self, nonce: str, *, answered: Answered | None = None) -> bool:
        """Queue this hub's hello (once: False if one is already waiting for its answer).
        ``answered(accepted, reason)`` is called when the inviting hub's answer arrives."""
        self._answered = answered
        if self._relay.queued(HELLO_PREFIX):
            return False
        with self._db.transaction():
            self._relay.enqueue(
                EnvelopeKind.HELLO, {"nonce": nonce}, message_id=HELLO_PREFIX + new_message_id()
            )
        return True

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        """Redeem a first-time hello's nonce and answer it."""
        nonce = envelope.body.get("nonce")
        reason: str | None = None
        if not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE_LENGTH:
            reason = "unknown"
        else:
            try:
                self._invites.redeem(nonce, self._clock.now(), by=envelope.id)
            except InviteError as ex:
                reason = ex.reason
        if reason is None:
            _LOGGER.info("the partner's hub said hello; its invite code is now used up")
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
            return None
        counter, why = _REFUSALS.get(reason, _REFUSALS["unknown"])
        self._relay.rejected[counter] += 1
        more = self._relay.poison.due(counter)  # a flood of bad hellos is one line a minute
        if more is not None:
            _LOGGER.warning("refused a hello from hub %s: %s%s", envelope.sender, why, more)
        self._relay.queue_receipt(envelope.id, Fate.FAILED, None, counter)
        return None

    def duplicate(self, envelope: Envelope) -> None:
        """A resent hello (our answer was lost): answer the same again, at most now and then."""
        if not self._relay.receipt_due(envelope.id):
            return
        if self._invites.redeemed_by(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        else:
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, "refused")

    def receipt(self, receipt: Receipt) -> bool:
        """The inviting hub's answer to our hello."""
        if receipt.ref not in self._relay.queued(HELLO_PREFIX):
            return True  # a repeated answer to a hello already settled
        accepted = receipt.fate is Fate.DELIVERED
        self.result = (accepted, receipt.reason)
        if accepted:
            _LOGGER.info("the partner's hub accepted our hello: the couple is joined")
        else:
            _LOGGER.error(
                "the partner's hub refused our hello (%s): ask them for a new invite code",
                receipt.reason or "refused",
            )
        if self._answered is not None:
            self._answered(accepted, receipt.reason)
        return True

    def published(self, message_id: str) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None


def stored_nonce(data_dir: Path) -> str | None:
    """The nonce of the code this hub joined with, while its hello is unanswered."""
    try:
        nonce = (data_dir / NONCE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not nonce or len(nonce) > MAX_NONCE_LENGTH:
        _LOGGER.warning("ignoring an unreadable %s in %s", NONCE_FILE, data_dir)
        return None
    return nonce


def queue_hello(hello: HelloExchange, data_dir: Path) -> bool:
    """At hub start: queue the hello if this hub joined with a code not yet answered.
    True if a hello is (now or still) on its way."""
    nonce = stored_nonce(data_dir)
    if nonce is None:
        return False

    def answered(_accepted: bool, _reason: str | None) -> None:
        (data_dir / NONCE_FILE).unlink(missing_ok=True)

    hello.send(nonce, answered=answered)
    return True
