"""The joined hub's first word to the inviting hub: its invite nonce and its half of the link.

``heartline couple join`` leaves the link (hub.couple.link) in the data dir; at every start until
the inviting hub answered, the hub queues one hello carrying the nonce and its X25519 public key
(durably, through the relay's outbox; a hello already waiting is not queued twice). The inviting
hub redeems the nonce in its ledger once, before the expiry its ledger holds, derives the same
link key and answers with a receipt: delivered = accepted (sealed with the new link), failed =
refused and why (sealed with the couple key, the only key the refused device shares). The
answer is kept in the link file, accepted or refused: a refused code will not be accepted later
either, and the log says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from hub.clock import Clock
from hub.couple.invite import InviteError
from hub.couple.ledger import InviteLedger
from hub.couple.link import (
    HELLO_PREFIX,
    PUBLIC_BYTES,
    CoupleCodec,
    CoupleLinkState,
    LinkFileError,
    inviter_link,
    read_link,
    record_answer,
    write_link,
)
from hub.events import Fate
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.database import Database

_LOGGER = logging.getLogger(__name__)

MAX_NONCE_LENGTH: Final = 64
__all__ = ["HELLO_PREFIX", "HelloExchange", "pending_hello", "queue_hello"]
# A hello's body: its invite nonce and the joining hub's X25519 public half (hex), checked before
# ``received`` (too long or missing: bad_hello).
HELLO_BODY: Final[BodySchema] = {
    "nonce": BodyField("text", max_length=MAX_NONCE_LENGTH),
    "public": BodyField("text", max_length=2 * PUBLIC_BYTES),
}
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

    def __init__(
        self, *, relay: Relay, db: Database, codec: CoupleCodec, data_dir: Path, clock: Clock
    ) -> None:
        self._relay = relay
        self._db = db
        self._codec = codec
        self._data_dir = data_dir
        self._invites = InviteLedger(data_dir)
        self._clock = clock
        self._answered: Answered | None = None
        # This hub's own hello: None until answered, then (accepted, reason).
        self.result: tuple[bool, str | None] | None = None
        relay.register(EnvelopeKind.HELLO, self, body=HELLO_BODY, id_prefix=HELLO_PREFIX)

    def send(self, link: CoupleLinkState, *, answered: Answered | None = None) -> bool:
        """Queue this hub's hello (once: False if one is already waiting for its answer).
        ``answered(accepted, reason)`` is called when the inviting hub's answer arrives."""
        self._answered = answered
        if self._relay.queued(HELLO_PREFIX):
            return False
        body = {"nonce": link.nonce, "public": link.public.hex()}
        with self._db.transaction():
            self._relay.enqueue(EnvelopeKind.HELLO, body, message_id=HELLO_PREFIX + new_message_id())
        return True

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        """Redeem a first-time hello's nonce, make the link from it, and answer it."""
        nonce, public = envelope.body.get("nonce"), _public_key(envelope.body.get("public"))
        reason: str | None = None
        if not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE_LENGTH or public is None:
            reason = "unknown"
        else:
            try:
                self._redeem(nonce, public, envelope.id)
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

    def _redeem(self, nonce: str, public: bytes, message_id: str) -> None:
        now = self._clock.now()
        secret = self._invites.check(nonce, now, by=message_id)
        if secret is None:
            return  # this very hello redeemed it already (its answer was never stored)
        link = inviter_link(self._codec.couple_key, secret, public, nonce)
        write_link(self._data_dir, link)  # before the code is marked used: a crash retries both
        self._invites.redeem(nonce, now, by=message_id)
        self._codec.linked(link)  # the answer, and everything after it, under the new link

    def duplicate(self, envelope: Envelope) -> None:
        """A resent hello (our answer was lost): answer the same again, at most now and then."""
        if not self._relay.receipt_due(envelope.id):
            return
        if self._invites.redeemed_by(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        else:
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, "refused")

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        for receipt in receipts:
            self._answer(receipt)
        return {receipt.ref for receipt in receipts}

    def _answer(self, receipt: Receipt) -> None:
        """The inviting hub's answer to our hello."""
        if receipt.ref not in self._relay.queued(HELLO_PREFIX):
            return  # a repeated answer to a hello already settled
        accepted = receipt.fate is Fate.DELIVERED
        self.result = (accepted, receipt.reason)
        record_answer(self._data_dir, "accepted" if accepted else f"refused:{receipt.reason or 'refused'}")
        if accepted:
            _LOGGER.info("the partner's hub accepted our hello: the couple is joined")
        else:
            _LOGGER.error(
                "the partner's hub refused our hello (%s): ask them for a new invite code",
                receipt.reason or "refused",
            )
        if self._answered is not None:
            self._answered(accepted, receipt.reason)

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None


def _public_key(value: object) -> bytes | None:
    if not isinstance(value, str) or len(value) != 2 * PUBLIC_BYTES:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def pending_hello(data_dir: Path) -> CoupleLinkState | None:
    """The link of the code this hub joined with, while its hello is unanswered."""
    try:
        link = read_link(data_dir)
    except LinkFileError as ex:
        _LOGGER.warning("no hello: %s", ex)
        return None
    if link is None or link.role != "joiner" or link.answer is not None:
        return None
    return link


def queue_hello(hello: HelloExchange, data_dir: Path) -> bool:
    """At hub start: queue the hello if this hub joined with a code not yet answered.
    True if a hello is (now or still) on its way."""
    link = pending_hello(data_dir)
    if link is None:
        return False
    hello.send(link)
    return True
