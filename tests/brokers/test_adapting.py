"""The hub adapts to the broker it finds and says what it did, on the real brokers.

- A broker that speaks only MQTT 3.1.1 (aedes refuses MQTT 5 with CONNACK 0x84; amqtt never
  answers an MQTT 5 CONNECT) gets 3.1.1 from a hub on ``relay.protocol = "auto"``, and the log
  says which version the hub uses; a hub forced to MQTT 5 names the fix instead.
- Given several broker URLs, a hub moves on from one that is down.
- A refused subscription (aedes: SUBACK 0x80) and an inbox the ACL filters after granting it
  (mosquitto, MQTT 5: the probe to the hub's own inbox never comes back) are health problems
  with their fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub.broker.config import inbox_topic
from hub.health import RelayProblemKind
from hub.relay.mqtt_link import PROBE_WAIT_S
from tests.brokers.conftest import BrokerCase
from tests.brokers.test_conformance import hub_config, shown_once
from tests.relay.node import RelayNode, all_settled, describe
from tests.support import brokers
from tests.support.brokers import MosquittoBroker, RabbitBroker
from tests.support.mosquitto import COUPLE, free_ports
from tests.support.waiting import START_S, eventually

pytestmark = pytest.mark.timeout(180)


# amqtt never answers an MQTT 5 CONNECT: its case waits out the hub's CONNACK bound (slow).
@pytest.mark.parametrize("name", ["aedes", pytest.param("amqtt", marks=pytest.mark.slow)])
async def test_auto_falls_back_to_mqtt311_and_says_so(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = brokers.aedes(tmp_path / name) if name == "aedes" else brokers.amqtt(tmp_path / name)
    try:
        case = BrokerCase(broker, "auto")
        couple = broker.new_couple()
        a = RelayNode(hub_config(case, couple, 0, tmp_path / "a"))
        b = RelayNode(hub_config(case, couple, 1, tmp_path / "b"))
        with caplog.at_level(logging.INFO, logger="hub.relay.mqtt_link"):
            await a.start()
            await b.start()
            touch = a.send().id
            await eventually(lambda: all_settled(a, {touch}), what=f"the receipt; {describe(a)}")
        assert shown_once(b, {touch})
        assert a.link.protocol == "mqtt311"
        assert f"the broker at 127.0.0.1:{broker.port} does not speak MQTT 5" in caplog.text
        assert f"relay connected to 127.0.0.1:{broker.port}, MQTT 3.1.1" in caplog.text
        assert a.link.problem is None
        await a.stop()
        await b.stop()
    finally:
        broker.stop()


async def test_a_hub_forced_to_mqtt5_names_the_protocol_fix(tmp_path: Path) -> None:
    broker = brokers.aedes(tmp_path / "aedes")
    try:
        case = BrokerCase(broker, "mqtt5")
        a = RelayNode(hub_config(case, broker.new_couple(), 0, tmp_path / "a"))
        await a.start(wait_connected=False)
        problem = await eventually(lambda: a.link.problem, within_s=START_S, what="the refusal")
        assert problem.kind is RelayProblemKind.REFUSED
        assert 'relay.protocol = "mqtt311"' in problem.fix
        await a.stop()
    finally:
        broker.stop()


async def test_a_hub_moves_to_the_next_broker_when_one_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = brokers.mosquitto(tmp_path / "mosquitto")
    try:
        case = BrokerCase(broker, "auto")
        (closed,) = free_ports(1)
        down, up = f"mqtt://127.0.0.1:{closed}", f"mqtt://127.0.0.1:{broker.port}"
        a = RelayNode(hub_config(case, COUPLE, 0, tmp_path / "a", broker="", urls=[down, up]))
        b = RelayNode(hub_config(case, COUPLE, 1, tmp_path / "b", broker="", urls=[up, down]))
        with caplog.at_level(logging.INFO, logger="hub.relay.mqtt_link"):
            await a.start()
            await b.start()
            touch = a.send().id
            await eventually(lambda: all_settled(a, {touch}), what=f"the receipt; {describe(a)}")
        assert shown_once(b, {touch})
        assert a.link.where == f"127.0.0.1:{broker.port}"
        assert f"relay: 127.0.0.1:{closed} cannot be used now; trying 127.0.0.1:{broker.port}" in caplog.text
        await a.stop()
        await b.stop()
    finally:
        broker.stop()


async def test_a_refused_subscription_is_a_health_problem_with_its_fix(tmp_path: Path) -> None:
    couple = brokers.random_couple()
    broker = brokers.aedes(tmp_path / "aedes", deny_prefix=inbox_topic(couple.couple_id, couple.hubs[0]))
    try:
        a = RelayNode(hub_config(BrokerCase(broker, "auto"), couple, 0, tmp_path / "a"))
        await a.start()
        problem = await eventually(lambda: a.link.problem, what="the refused subscription")
        assert problem.kind is RelayProblemKind.SUBSCRIBE_DENIED
        assert "regenerate it with `heartline broker setup`" in problem.fix
        await a.stop()
    finally:
        broker.stop()


@pytest.mark.slow
async def test_an_inbox_the_acl_filters_is_found_by_the_probe(tmp_path: Path) -> None:
    broker = brokers.mosquitto(tmp_path / "mosquitto")
    try:
        assert isinstance(broker, MosquittoBroker)
        hub = COUPLE.hubs[0]
        inbox = inbox_topic(COUPLE.couple_id, hub)
        # mosquitto grants a subscription its ACL denies, then filters what it delivers. This
        # hub may write its inbox (so the probe is allowed) but not read it.
        broker.inner.setup.acl_path.write_text(f"user {hub}\ntopic write {inbox}\n", encoding="utf-8")
        broker.restart()
        a = RelayNode(hub_config(BrokerCase(broker, "mqtt5"), COUPLE, 0, tmp_path / "a"))
        await a.start()
        problem = await eventually(
            lambda: a.link.problem, within_s=PROBE_WAIT_S + START_S, what="the silent inbox"
        )
        assert problem.kind is RelayProblemKind.INBOX_SILENT
        assert f"the broker granted the subscription to {inbox}" in problem.reason
        assert "must let this hub read its inbox" in problem.fix
        await a.stop()
    finally:
        broker.stop()


@pytest.mark.slow
async def test_rabbitmq_gets_mqtt311_from_an_auto_hub(
    rabbitmq_broker: RabbitBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if not rabbitmq_broker.running:
        rabbitmq_broker.start()
    case = BrokerCase(rabbitmq_broker, "auto")
    a = RelayNode(hub_config(case, rabbitmq_broker.new_couple(), 0, tmp_path / "a"))
    with caplog.at_level(logging.INFO, logger="hub.relay.mqtt_link"):
        await a.start()
    assert a.link.protocol == "mqtt311"
    assert f"relay connected to 127.0.0.1:{rabbitmq_broker.port}, MQTT 3.1.1" in caplog.text
    await a.stop()
