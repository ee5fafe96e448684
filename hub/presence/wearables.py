"""Sharing this home's person's wearables with the partner's hub, so it knows them on a visit.

A wearable goes where its owner goes. When Sam visits Alex, Alex's hub hears Sam's wearable; to
tell it is Sam (presence: together time) and to read Sam's touches (sealed with the wearable's
BTHome key), Alex's hub needs what Sam's hub has: the address, the key, the owner and the kind.
Sam's hub sends each of Sam's registered buttons over the relay (sealed like every payload),
one message per button, latest wins, and says so when one is removed; Alex's hub registers them
as Sam's. A touch heard on one goes to Sam's hub to be sent (hub.signals.visits).

Sending (:class:`WearableSharer`, one of the hub's tasks): it compares the registry's buttons of
this home's person with what it last shared (kept in ``meta`` as fingerprints, never keys) every
``TICK_S`` while the partner's hub is online, and shares everything each time that hub comes
online (a hub that lost its database learns them again).

Receiving (:class:`WearableExchange`, the relay's ``wearable`` handler): a wearable of the
partner is registered (or re-keyed, or removed) in this hub's registry with the partner as its
owner. One that claims an address registered here for this home's own person is refused
(``wearable_conflict``): the partner's hub cannot take over our person's button.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Final

from hub.events import Fate
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database
from hub.store.meta import MetaStore

_LOGGER = logging.getLogger(__name__)

TICK_S: Final = 5.0
WEARABLE_PREFIX: Final = "wearable-"
# What this hub last shared: address -> fingerprint of (kind, key), so a re-key is shared again.
SHARED_KEY: Final = "wearables_shared"
MAX_PERSON_LENGTH: Final = 64
KINDS: Final = frozenset({"heartline", "bthome"})
_ADDRESS: Final = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")
_KEY: Final = re.compile(r"[0-9a-f]{32}")
WEARABLE_BODY: Final[BodySchema] = {
    "address": BodyField("text", max_length=17),
    "owner": BodyField("text", max_length=MAX_PERSON_LENGTH),
    "registered": BodyField("bool"),
    "kind": BodyField("choice", required=False, nullable=True, choices=KINDS),
    "key": BodyField("text", required=False, nullable=True, max_length=32),
}


def fingerprint(record: ButtonRecord) -> str:
    return hashlib.sha256(f"{record.kind}/{record.key.hex()}".encode()).hexdigest()[:16]


def _prefix(address: str) -> str:
    return WEARABLE_PREFIX + address.replace(":", "") + "-"


class WearableExchange:
    """Both ends of wearable sharing: queue ours, register the partner's."""

    def __init__(
        self,
        *,
        relay: Relay,
        db: Database,
        person: str,
        partner: str,
        changed: Callable[[], None],
    ) -> None:
        self._relay = relay
        self._db = db
        self._registry = ButtonRegistry(db)
        self._person = person
        self._partner = partner
        self._changed = changed  # after a partner's wearable was registered or removed here
        relay.register(EnvelopeKind.WEARABLE, self, body=WEARABLE_BODY, id_prefix=WEARABLE_PREFIX)

    def send(self, record: ButtonRecord | None, address: str) -> None:
        """Share one of our person's buttons (None: it is no longer registered); in a transaction."""
        body: dict[str, object] = {
            "address": address,
            "owner": self._person,
            "registered": record is not None,
        }
        if record is not None:
            body |= {"kind": record.kind, "key": record.key.hex()}
        self._relay.drop_queued(_prefix(address))
        self._relay.enqueue(EnvelopeKind.WEARABLE, body, message_id=_prefix(address) + new_message_id())

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        problem = self._apply(envelope.body)
        if problem is not None:
            reason, text = problem
            self._relay.rejected[reason] += 1
            _LOGGER.warning("a wearable shared by the partner's hub was refused: %s", text)
            self._relay.queue_receipt(envelope.id, Fate.FAILED, None, text)
            return None
        self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)
        return self._changed

    def duplicate(self, envelope: Envelope) -> None:
        if self._relay.receipt_due(envelope.id):
            self._relay.queue_receipt(envelope.id, Fate.DELIVERED, None, None)

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:
        for receipt in receipts:
            if receipt.fate is Fate.FAILED:
                _LOGGER.warning("the partner's hub refused one of our wearables: %s", receipt.reason)
        return {receipt.ref for receipt in receipts}

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None

    def _apply(self, body: dict[str, object] | object) -> tuple[str, str] | None:
        """Register or remove; (counter, one line) if refused."""
        assert isinstance(body, dict)
        address, owner = str(body["address"]).upper(), body["owner"]
        if not _ADDRESS.fullmatch(address):
            return "bad_wearable", f"{address!r} is not a Bluetooth address"
        if owner != self._partner:
            return "bad_wearable", f"a wearable of {owner!r}, who is not {self._partner!r}"
        known = self._registry.by_address(address)
        if known is not None and known.owner != self._partner:
            return "wearable_conflict", f"{address} is registered here as {known.owner}'s"
        if not body["registered"]:
            if known is not None:
                self._registry.remove(known.id)
                _LOGGER.info("%s's wearable %s is no longer theirs; forgotten here", owner, address)
            return None
        key, kind = body.get("key"), body.get("kind")
        if not isinstance(key, str) or not _KEY.fullmatch(key.lower()) or kind not in KINDS:
            return "bad_wearable", f"wearable {address} came without a valid key and kind"
        self._registry.upsert(address, str(kind), bytes.fromhex(key), owner)
        _LOGGER.info("%s's wearable %s is known here now (for their visits)", owner, address)
        return None


class WearableSharer:
    """Shares this home's person's buttons when they change (and once after a start)."""

    def __init__(
        self,
        exchange: WearableExchange,
        db: Database,
        person: str,
        *,
        partner_online: Callable[[], bool] = lambda: True,
    ) -> None:
        self._exchange = exchange
        # Shared while the partner's hub is online, and everything again each time it comes
        # back: a hub that never subscribed yet gets nothing from the broker, and one that lost
        # its database learns them again.
        self._online = partner_online
        self._was_online = False
        self._db = db
        self._registry = ButtonRegistry(db)
        self._meta = MetaStore(db)
        self._person = person
        self._first = True
        self.sent = 0

    def _last(self) -> dict[str, str]:
        text = self._meta.get(SHARED_KEY)
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def tick(self) -> int:
        """Share what changed; returns how many messages were queued."""
        online = self._online()
        if online and not self._was_online:
            self._first = True
        self._was_online = online
        if not online:
            return 0
        ours = {r.address: r for r in self._registry.by_owner(self._person)}
        now = {address: fingerprint(r) for address, r in ours.items()}
        last = {} if self._first else self._last()
        gone = [a for a in self._last() if a not in now]
        changed = [a for a in now if last.get(a) != now[a]]
        if not changed and not gone:
            self._first = False
            return 0
        with self._db.transaction():
            for address in changed:
                self._exchange.send(ours[address], address)
            for address in gone:
                self._exchange.send(None, address)
            self._meta.put(SHARED_KEY, json.dumps(now))
        self._first = False
        self.sent += len(changed) + len(gone)
        return len(changed) + len(gone)

    async def run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_S)
