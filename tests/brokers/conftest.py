"""The brokers of the conformance suite as fixtures (tests.support.brokers), each stopped by pid.

``any_broker`` is parametrized over every broker and MQTT version that can run here; RabbitMQ is
one broker per module (it takes seconds to start) and its cases are slow tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import brokers
from tests.support.brokers import BrokerUnavailableError, RabbitBroker, TestBroker

# (broker, protocol): every combination the suite runs.
CASES = [
    pytest.param(("mosquitto", "mqtt5"), id="mosquitto-mqtt5"),
    pytest.param(("mosquitto", "mqtt311"), id="mosquitto-mqtt311"),
    pytest.param(("amqtt", "mqtt311"), id="amqtt"),
    pytest.param(("aedes", "mqtt311"), id="aedes"),
    pytest.param(("rabbitmq", "mqtt311"), id="rabbitmq", marks=pytest.mark.slow),
]


@dataclass(frozen=True)
class BrokerCase:
    broker: TestBroker
    protocol: str  # what the hubs are configured with

    @property
    def name(self) -> str:
        return f"{self.broker.name}-{self.protocol}"


@pytest.fixture(scope="module")
def rabbitmq_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitBroker]:
    try:
        broker = brokers.rabbitmq(tmp_path_factory.mktemp("rabbitmq"))
    except BrokerUnavailableError as ex:
        pytest.fail(str(ex), pytrace=False)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(params=CASES)
def any_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerCase]:
    name, protocol = request.param
    if name == "rabbitmq":
        rabbit: RabbitBroker = request.getfixturevalue("rabbitmq_broker")
        if not rabbit.running:  # a crash test left it down
            rabbit.start()
        yield BrokerCase(rabbit, protocol)
        return
    starters: dict[str, Callable[[Path], TestBroker]] = {
        "mosquitto": brokers.mosquitto,
        "amqtt": brokers.amqtt,
        "aedes": brokers.aedes,
    }
    try:
        broker = starters[name](tmp_path / name)
    except BrokerUnavailableError as ex:
        pytest.fail(str(ex), pytrace=False)
    try:
        yield BrokerCase(broker, protocol)
    finally:
        broker.stop()
