"""Routing by presence: a recipient who has left gets the phone, and their home puck stays quiet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from hub.ble.feedback import FeedbackSender, OnWait
from hub.delivery.phone import PhoneNotifier
from hub.delivery.router import DeliveryRouter
from hub.events import Channel, Direction, Fate, SignalKind, SignalRecord
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import open_database
from tests.support.notify_sink import NotifySink
from tests.support.waiting import eventually


class RecordingButton:
    """Stands in for the BLE feedback path (tested end to end elsewhere): records what it was asked."""

    def __init__(self) -> None:
        self.sent: list[SignalKind] = []

    async def send(self, button: ButtonRecord, kind: SignalKind, on_wait: OnWait | None = None) -> None:
        del on_wait  # an always-listening button: never waited for
        self.sent.append(kind)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ButtonRegistry]:
    db = open_database(tmp_path)
    registry = ButtonRegistry(db)
    registry.upsert("C0:FF:EE:00:00:0B", "heartline", bytes(16), "Sam")
    try:
        yield registry
    finally:
        db.close()


def _signal() -> SignalRecord:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return SignalRecord(
        "s1", Direction.RECEIVED, SignalKind.THINKING_OF_YOU, "Alex", 1, now, Fate.RECEIVED, None, None, now
    )


@pytest.mark.parametrize(("away", "channel"), [(False, Channel.BUTTON), (True, Channel.PHONE)])
async def test_home_means_the_button_and_away_means_the_phone(
    registry: ButtonRegistry, notify_sink: NotifySink, away: bool, channel: Channel
) -> None:
    button = RecordingButton()
    router = DeliveryRouter(
        person="Sam",
        partner="Alex",
        registry=registry,
        feedback=cast("FeedbackSender", button),
        phone=PhoneNotifier([notify_sink.apprise_url]),
        is_away=lambda: away,
    )
    outcome = await router.deliver(_signal())
    assert outcome.fate is Fate.DELIVERED
    assert outcome.channel is channel
    if away:
        assert button.sent == []  # the puck on the hall table does not buzz an empty home
        assert outcome.reason == "Sam is away from home"
        await eventually(lambda: notify_sink.received, what="the phone notification")
    else:
        assert button.sent == [SignalKind.THINKING_OF_YOU]
        assert notify_sink.received == []
