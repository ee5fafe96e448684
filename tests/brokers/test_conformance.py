"""The same scenarios on every broker that runs here: the hub's couple link (the relay, its
SQLite outbox and inbox, delivery) between two homes, through mosquitto (MQTT 5 and 3.1.1),
amqtt, aedes and RabbitMQ's MQTT plugin.

Touches cross both ways exactly once with receipts; a touch sent while the partner is offline
arrives once after the broker restarts or crashes (SIGKILL) meanwhile (from the broker's session
where it keeps one, else from the sender's resend); a touch the receiver took but never
acknowledged comes again and is shown once; the partner's retained status reaches a hub that
starts later.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker.config import STATUS_OFFLINE, Couple, status_topic
from hub.config import HubConfig, parse_config
from hub.events import Fate
from tests.brokers.conftest import BrokerCase
from tests.relay.node import RelayNode, SwallowingLink, all_settled, couple_raw, describe
from tests.support import brokers
from tests.support.waiting import START_S, eventually

pytestmark = pytest.mark.timeout(240)

# What the brokers add to a wait: a resend after a broker that forgot the message (2 s in the
# nodes), a reconnect backoff after a restart (paho doubles from 1 s).
SETTLE_S = 90.0


def hub_config(case: BrokerCase, couple: Couple, index: int, data_dir: Path, **relay: Any) -> HubConfig:
    broker = case.broker
    username, password = broker.login(couple.hubs[index])
    login = {"username": username, "password": password, "protocol": case.protocol}
    raw = couple_raw(
        couple, index, data_dir, {"broker": f"mqtt://{broker.host}:{broker.port}", **login, **relay}
    )
    return parse_config(raw, case.name)


def nodes(case: BrokerCase, tmp_path: Path) -> tuple[RelayNode, RelayNode]:
    couple = case.broker.new_couple()
    return (
        RelayNode(hub_config(case, couple, 0, tmp_path / "a")),
        RelayNode(hub_config(case, couple, 1, tmp_path / "b")),
    )


async def confirmed_by_the_broker(a: RelayNode) -> None:
    """A's one touch is confirmed (PUBACK) and waits in its outbox for the receipt."""
    await eventually(
        lambda: a.relay.outbox_depth == 1 and not a.relay._in_flight,
        what=f"the broker confirmed the touch; {describe(a)}",
    )


async def shown_once_and_receipted(a: RelayNode, b: RelayNode, touch: str) -> None:
    await eventually(lambda: all_settled(a, {touch}), within_s=SETTLE_S, what=f"the receipt; {describe(a)}")
    assert b.person.shown == [touch], describe(b)


def shown_once(node: RelayNode, ids: set[str]) -> bool:
    return ids <= set(node.person.shown) and not node.person.duplicates()


async def test_touches_cross_both_ways_exactly_once_with_receipts(
    any_broker: BrokerCase, tmp_path: Path
) -> None:
    a, b = nodes(any_broker, tmp_path)
    await a.start()
    await b.start()
    try:
        from_a = {a.send().id for _ in range(3)}
        from_b = {b.send().id for _ in range(3)}
        await eventually(
            lambda: all_settled(a, from_a), within_s=SETTLE_S, what=f"A's receipts; {describe(a)}"
        )
        await eventually(
            lambda: all_settled(b, from_b), within_s=SETTLE_S, what=f"B's receipts; {describe(b)}"
        )
        assert shown_once(b, from_a), describe(b)
        assert shown_once(a, from_b), describe(a)
        assert sorted(b.person.shown) == sorted(from_a)
        assert sorted(a.person.shown) == sorted(from_b)
        assert {s.fate for s in a.sent()} == {Fate.DELIVERED}
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["restart", "crash"])
async def test_a_touch_for_an_offline_partner_survives_the_broker_going_down(
    any_broker: BrokerCase, tmp_path: Path, how: str
) -> None:
    a, b = nodes(any_broker, tmp_path)
    await b.start()  # B's session exists on the broker (where it keeps sessions)
    await b.stop()
    await a.start()
    try:
        touch = a.send().id
        await confirmed_by_the_broker(a)
        if how == "restart":
            any_broker.broker.restart()
        else:
            any_broker.broker.kill()
            any_broker.broker.start()
        b = b.reborn()
        await b.start()
        await shown_once_and_receipted(a, b, touch)
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.slow
async def test_a_touch_taken_but_never_acknowledged_comes_again_and_is_shown_once(
    any_broker: BrokerCase, tmp_path: Path
) -> None:
    a, b = nodes(any_broker, tmp_path)
    b = RelayNode(b.config, link_class=SwallowingLink)
    await b.start()
    await a.start()
    try:
        link = b.link
        assert isinstance(link, SwallowingLink)
        link.swallow = True  # paho takes the message; the hub never stores or acknowledges it
        touch = a.send().id
        await confirmed_by_the_broker(a)
        await b.crash()
        b = b.reborn()
        await b.start()
        await shown_once_and_receipted(a, b, touch)
    finally:
        await a.stop()
        await b.stop()


async def test_the_partner_status_reaches_a_hub_that_starts_later(
    any_broker: BrokerCase, tmp_path: Path
) -> None:
    a, b = nodes(any_broker, tmp_path)
    await a.start()
    await b.start()
    try:
        await eventually(
            lambda: b.couple.partner_hub.status.online is True, within_s=START_S, what="A online at B"
        )
        await a.stop()
        await eventually(
            lambda: b.couple.partner_hub.status.online is False, within_s=START_S, what="A offline at B"
        )
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.slow
async def test_the_partner_status_comes_back_after_a_restart_without_retained_messages(
    any_broker: BrokerCase, tmp_path: Path
) -> None:
    """amqtt and aedes forget retained messages on a restart; the hubs' sealed status messages
    still tell each that the other is online once both reconnected."""
    a, b = nodes(any_broker, tmp_path)
    await a.start()
    await b.start()
    try:
        await eventually(
            lambda: b.couple.partner_hub.status.online is True, within_s=START_S, what="A online at B"
        )
        await eventually(
            lambda: a.couple.partner_hub.status.online is True, within_s=START_S, what="B online at A"
        )
        # In a thread, so the hubs live through the restart as they would (and B sees its link go).
        restarting = asyncio.create_task(asyncio.to_thread(any_broker.broker.restart))
        await eventually(
            lambda: b.couple.partner_hub.status.online is None, within_s=START_S, what="B's link down"
        )
        await restarting
        await eventually(
            lambda: b.couple.partner_hub.status.online is True and a.couple.partner_hub.status.online is True,
            within_s=SETTLE_S,
            what=f"both online again; {describe(a)}; {describe(b)}",
        )
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["aedes", "amqtt"])
async def test_a_stale_retained_status_is_only_a_hint(name: str, tmp_path: Path) -> None:
    """A broker brings back an old retained "offline" while the partner's hub is online (RabbitMQ
    did after a crash): the partner's own sealed status wins at the next connect."""
    broker = brokers.aedes(tmp_path / name) if name == "aedes" else brokers.amqtt(tmp_path / name)
    try:
        case = BrokerCase(broker, "mqtt311")
        a, b = nodes(case, tmp_path)
        await a.start()
        await b.start()
        await eventually(
            lambda: b.couple.partner_hub.status.online is True, within_s=START_S, what="A online at B"
        )
        await b.stop()
        couple_id, hub_a = a.config.relay.couple_id, a.config.relay.hub_id
        stale = paho.Client(CallbackAPIVersion.VERSION2, client_id="stale-status")
        stale.connect(broker.host, broker.port)
        stale.loop_start()
        stale.publish(
            status_topic(couple_id, hub_a), STATUS_OFFLINE.encode(), qos=1, retain=True
        ).wait_for_publish(10)
        stale.disconnect()
        stale.loop_stop()
        b = b.reborn()
        await b.start()
        await eventually(
            lambda: b.couple.partner_hub.status.online is True,
            within_s=SETTLE_S,
            what=f"A online; {describe(b)}",
        )
        await a.stop()
        await b.stop()
    finally:
        broker.stop()
