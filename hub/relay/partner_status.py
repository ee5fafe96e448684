"""The hubs tell each other they are online, sealed, through the relay: retained status is a hint.

A broker's retained status topic may not survive (amqtt and aedes keep it in memory), may come
back older than the truth (RabbitMQ keeps it per node and once restored an old one after a
crash), or may differ between a cluster's nodes. So every time a hub's link connects it sends
the partner a ``status`` message ("online", asking for the partner's own), and a hub that is
asked answers with its own "online". Each is a sealed envelope, published at once and kept
nowhere (``Relay.send_unstored``): no outbox, no receipt, no inbox row. A status the partner
missed costs nothing: the partner asks again at its next connect, and until then the retained
status stands in. The newest wins (by its time: statuses are not numbered).

A status older than ``FRESH_S`` when it arrives (it waited in the broker for this hub) says
nothing about now: it is ignored. "Offline" needs no message: the
partner's goodbye and its will arrive live on the status topic (hub.relay.mqtt_link).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE
from hub.clock import Clock
from hub.relay.body import BodyField, BodySchema
from hub.relay.envelope import Envelope, EnvelopeKind, new_message_id
from hub.relay.kinds import AfterCommit, Receipt
from hub.relay.relay import Relay

_LOGGER = logging.getLogger(__name__)

# Status ids are marked, so a newer status can replace an older one still in the outbox.
STATUS_PREFIX: Final = "status-"
# A status that took longer than this to arrive is history, not news.
FRESH_S: Final = 120.0
STATUS_BODY: Final[BodySchema] = {
    "state": BodyField("choice", choices=frozenset({STATUS_ONLINE, STATUS_OFFLINE})),
    "ask": BodyField("bool", required=False),  # answer with your own status
}


class StatusExchange:
    """Both ends: say "online" at every connect (and when asked); hand the partner's on."""

    def __init__(
        self,
        *,
        relay: Relay,
        clock: Clock,
        on_status: Callable[[str, int], None],
        may_send: Callable[[], bool] = lambda: True,
    ) -> None:
        self._relay = relay
        self._clock = clock
        self._on_status = on_status
        # False while the couple is not linked yet (an invite's hello unanswered): the partner
        # could not open what this hub seals now.
        self._may_send = may_send
        self._newest: datetime | None = None  # when the newest status applied was sent
        relay.register(EnvelopeKind.STATUS, self, body=STATUS_BODY, id_prefix=STATUS_PREFIX)

    def send(self, *, ask: bool) -> None:
        """Tell the partner this hub is online (now, or never: nothing is kept)."""
        if not self._may_send():
            return
        body = {"state": STATUS_ONLINE, "ask": ask}
        self._relay.send_unstored(EnvelopeKind.STATUS, body, message_id=STATUS_PREFIX + new_message_id())

    def connected(self) -> None:
        """This hub's link (re)connected: tell the partner, and ask for its status."""
        self.send(ask=True)

    # -- the relay's handler ------------------------------------------------------------

    def received(self, envelope: Envelope) -> AfterCommit | None:
        age_s = (self._clock.now() - envelope.at).total_seconds()
        if age_s > FRESH_S or (self._newest is not None and envelope.at <= self._newest):
            _LOGGER.debug(
                "partner status %s from %s is not news (%.0f s old)", envelope.id, envelope.at, age_s
            )
            return None
        self._newest = envelope.at
        state = str(envelope.body["state"])
        ask = bool(envelope.body.get("ask"))
        arrival = self._relay.arrival

        def after() -> None:
            self._on_status(state, arrival)
            if ask:
                self.send(ask=False)

        return after

    def duplicate(self, envelope: Envelope) -> None:
        pass  # never called: the relay keeps no inbox row for a status

    def receipts(self, receipts: Sequence[Receipt]) -> set[str]:  # noqa: ARG002 - the handler shape
        return set()  # statuses are not receipted: a receipt for one answers nothing we sent

    def published(self, message_ids: Sequence[str]) -> AfterCommit | None:  # noqa: ARG002 - the handler shape
        return None
