"""Presence shared with the partner's hub over the real relay: sealed like every payload, latest
wins (an outage leaves one message, not a pile), kept across restarts, throttled, pausable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.broker.config import inbox_topic
from hub.clock import ManualClock
from hub.presence.service import PresenceState
from hub.presence.share import PRESENCE_PREFIX, PresenceSharer
from hub.relay.envelope import Envelope, EnvelopeKind
from hub.relay.relay import Relay
from tests.relay.node import describe, started_pair
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually

T0 = datetime(2025, 2, 14, 8, 0, tzinfo=UTC)


def _unsent_presence(relay: Relay) -> int:
    (count,) = relay._db.connection.execute(
        "SELECT COUNT(*) FROM outbox WHERE id LIKE ?", (PRESENCE_PREFIX + "%",)
    ).fetchone()
    return int(count)


async def test_presence_reaches_the_partner_and_survives_its_restart(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    a.couple.presence.send("Alex", present=True, since=T0)
    state = await eventually(lambda: b.couple.presence.partner, what=f"presence at b; {describe(b)}")
    assert (state.person, state.present, state.since) == ("Alex", True, T0)
    await eventually(lambda: a.relay.outbox_depth == 0, what="the presence receipted")
    await b.stop()
    b = b.reborn()
    await b.start()
    assert b.couple.presence.partner == state  # routing knows where Alex is straight after a restart
    a.couple.presence.send("Alex", present=False, since=T0 + timedelta(hours=1))
    await eventually(
        lambda: b.couple.presence.partner is not None and not b.couple.presence.partner.present,
        what="the newer presence",
    )
    assert b.relay.rejected == {}
    await a.stop()
    await b.stop()


@pytest.mark.slow  # an outage, then a reconnect
async def test_an_outage_keeps_only_the_newest_presence(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    mosquitto_broker.stop()
    await eventually(lambda: not a.link.connected.is_set(), what="a notices the outage")
    for minute in range(30):
        a.couple.presence.send("Alex", present=minute % 2 == 0, since=T0 + timedelta(minutes=minute))
    assert _unsent_presence(a.relay) == 1
    assert a.relay.outbox_depth == 1
    mosquitto_broker.start()
    last = T0 + timedelta(minutes=29)
    await eventually(
        lambda: b.couple.presence.partner is not None and b.couple.presence.partner.since == last,
        within_s=20,
        what=f"the newest presence after the outage; {describe(a)}",
    )
    assert b.couple.presence.partner is not None
    assert b.couple.presence.partner.present is False
    await eventually(lambda: a.relay.outbox_depth == 0, what="a's outbox empty")
    await a.stop()
    await b.stop()


async def test_an_older_report_arriving_late_is_ignored(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    a.couple.presence.send("Alex", present=True, since=T0)
    await eventually(lambda: b.couple.presence.partner, what="the first report")
    newest = b.couple.presence.partner
    assert newest is not None
    # A report sealed earlier than the one b holds (lower seq, earlier time), e.g. a resend.
    late = Envelope(
        id="presence-late",
        kind=EnvelopeKind.PRESENCE,
        sender=a.config.relay.hub_id,
        to=a.config.relay.partner_hub_id,
        at=newest.reported_at - timedelta(seconds=5),
        seq=newest.seq - 1,
        body={"person": "Alex", "present": False, "since": None},
    )
    topic = inbox_topic(a.config.relay.couple_id, a.config.relay.partner_hub_id)
    with a.db.transaction():
        a.relay._outbox.put(late.id, topic, a.relay._codec.seal(late), late.at, needs_receipt=True)
    a.relay.poke()
    await eventually(
        lambda: b.db.connection.execute("SELECT 1 FROM inbox WHERE id = 'presence-late'").fetchone(),
        what="the late report stored at b",
    )
    assert b.couple.presence.partner == newest
    assert b.relay.rejected == {}
    await a.stop()
    await b.stop()


async def test_a_malformed_presence_is_rejected_and_counted(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    with a.db.transaction():
        bodies: list[dict[str, object]] = [
            {"person": 5, "present": True, "since": None},
            {"person": "Alex", "present": "yes", "since": None},
            {"person": "Alex", "present": True, "since": "2025-02-14T08:00:00"},  # no zone
            {"person": "Alex", "present": True, "since": "yesterday"},
        ]
        for index, body in enumerate(bodies):
            a.relay.enqueue(EnvelopeKind.PRESENCE, body, message_id=f"presence-bad{index}", seq=10 + index)
    a.relay.poke()
    await eventually(lambda: b.relay.rejected["bad_presence"] >= 4, what=f"rejections; {describe(b)}")
    assert b.couple.presence.partner is None
    await a.stop()
    await b.stop()


@pytest.mark.slow  # throttling is measured in seconds
async def test_the_sharer_sends_on_change_throttled_and_pauses(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    clock = ManualClock(T0)
    # Not heard yet (not present, no since): nothing is known, so nothing is told; "away" would lie.
    states = [PresenceState("Alex", present=False, since=None), PresenceState("Sam", present=True, since=T0)]
    sharer = PresenceSharer(
        a.couple.presence, "Alex", lambda: states, clock, min_interval_s=30, refresh_s=900
    )
    assert not sharer.tick()
    states[0] = PresenceState("Alex", present=True, since=T0)
    assert sharer.tick()  # the first known state is always told
    assert not sharer.tick()  # unchanged
    states[0] = PresenceState("Alex", present=False, since=T0 + timedelta(minutes=1))
    clock.advance(10)
    assert not sharer.tick()  # changed, but within the interval
    clock.advance(25)
    assert sharer.tick()  # the latest state once the interval is over
    await eventually(
        lambda: b.couple.presence.partner is not None and b.couple.presence.partner.present is False,
        what="the change at b",
    )
    clock.advance(600)
    assert not sharer.tick()
    clock.advance(300)
    assert sharer.tick()  # an unchanged state is refreshed now and then
    # Only this home's person is shared: the partner visiting here is not reported back.
    states[:] = [PresenceState("Sam", present=True, since=T0)]
    clock.advance(3600)
    assert not sharer.tick()
    # Paused: nothing sent, and what was not yet published is dropped.
    states[:] = [PresenceState("Alex", present=True, since=T0 + timedelta(hours=2))]
    mosquitto_broker.stop()
    await eventually(lambda: not a.link.connected.is_set(), what="a offline")
    assert sharer.tick()
    assert _unsent_presence(a.relay) == 1
    sharer.pause()
    assert not sharer.sharing
    assert _unsent_presence(a.relay) == 0
    states[:] = [PresenceState("Alex", present=False, since=T0 + timedelta(hours=3))]
    clock.advance(3600)
    assert not sharer.tick()
    assert _unsent_presence(a.relay) == 0
    sharer.resume()
    assert sharer.tick()
    assert sharer.sent == 5
    await a.stop()
    await b.stop()
