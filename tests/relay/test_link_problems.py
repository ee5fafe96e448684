"""Every way the relay link fails says why and how to fix it, once, against a real mosquitto.

Each case runs the hub's own couple link (``RelayNode``) against a real broker set up by
``hub.broker.setup.setup_relay`` (TLS from its own CA), a name that never resolves (RFC 6761
reserves ``.invalid``) or a closed port on 127.0.0.1. The link retries by itself; the log must
carry the problem exactly once across those retries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Final

import pytest

from hub.broker.config import inbox_topic
from hub.broker.setup import setup_relay
from hub.health import RelayProblem, RelayProblemKind
from hub.relay.mqtt_link import MqttLink
from tests.relay.node import RelayNode, node_config, started_pair
from tests.support.mosquitto import COUPLE, LOOPBACK, Broker, free_ports, start_broker
from tests.support.waiting import START_S, eventually

pytestmark = pytest.mark.slow  # each waits for paho's backoff to retry a few times

LINK_LOGGER: Final = "hub.relay.mqtt_link"
# paho retries after 1, 2, 4 ... s; three reports prove at least two retries were made.
REPORTS_SEEN: Final = 3
# Debian's mosquitto package ships the dynamic-security plugin beside the broker.
DYNSEC_PLUGIN_PATHS: Final = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/arm-linux-gnueabihf/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
)
DYNSEC_PLUGIN: Final = next((Path(p) for p in DYNSEC_PLUGIN_PATHS if Path(p).is_file()), None)
HUB_A, HUB_B = COUPLE.hubs


class CountingLink(MqttLink):
    """The hub's link, counting each problem it is told about (every retry tells it again)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reports: list[RelayProblem] = []

    def _report(self, problem: RelayProblem) -> None:
        self.reports.append(problem)
        super()._report(problem)


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LINK_LOGGER and r.levelno >= logging.ERROR]


async def _fails_once(node: RelayNode, caplog: pytest.LogCaptureFixture) -> RelayProblem:
    """Start the node, wait for a few retries, check the problem was logged exactly once."""
    caplog.set_level(logging.INFO, logger=LINK_LOGGER)
    await node.start(wait_connected=False)
    try:
        link = node.link
        assert isinstance(link, CountingLink)
        await eventually(lambda: len(link.reports) >= REPORTS_SEEN, within_s=START_S, what="retries")
        problem = link.problem
        assert problem is not None
        assert _logged(caplog) == [f"relay: {problem.reason}; {problem.fix}"]
        assert link.last_error == str(problem)
        assert not link.connected.is_set()
        return problem
    finally:
        await node.stop()


async def test_a_wrong_ca_file_is_a_tls_problem_naming_relay_ca_file(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Another relay's CA: a real certificate, just not the one that signed this broker's.
    (other_plain, other_tls) = free_ports(2)
    other = setup_relay(
        tmp_path / "other", host="localhost", port=other_plain, tls_port=other_tls, couples=[COUPLE]
    )
    assert other.ca_cert_path is not None
    config = node_config(
        mosquitto_broker,
        0,
        tmp_path / "a",
        broker_url=f"mqtts://{mosquitto_broker.tls_host}:{mosquitto_broker.tls_port}",
        ca_file=other.ca_cert_path,
    )
    problem = await _fails_once(RelayNode(config, link_class=CountingLink), caplog)
    assert problem.kind is RelayProblemKind.TLS
    assert problem.reason == (
        f"TLS verification failed for localhost:{mosquitto_broker.tls_port} "
        "(self-signed certificate in certificate chain)"
    )
    assert f"relay.ca_file ({other.ca_cert_path}) is not the CA" in problem.fix


async def test_no_ca_file_says_to_set_it(mosquitto_broker: Broker, tmp_path: Path) -> None:
    config = node_config(
        mosquitto_broker,
        0,
        tmp_path / "a",
        broker_url=f"mqtts://{mosquitto_broker.tls_host}:{mosquitto_broker.tls_port}",
    )
    node = RelayNode(config)
    await node.start(wait_connected=False)
    try:
        problem = await eventually(lambda: node.link.problem, what="the TLS problem")
        assert problem.kind is RelayProblemKind.TLS
        assert problem.fix.startswith("set relay.ca_file to the relay's ca.crt")
    finally:
        await node.stop()


async def test_a_host_name_the_certificate_does_not_name(
    mosquitto_binary: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A relay set up for relay.example.org, reached as localhost: the CA is right, the name not.
    broker = _broker_for_host(mosquitto_binary, tmp_path / "relay", "relay.example.org")
    try:
        config = node_config(
            broker,
            0,
            tmp_path / "a",
            broker_url=f"mqtts://localhost:{broker.tls_port}",
            ca_file=broker.ca_path,
        )
        problem = await _fails_once(RelayNode(config, link_class=CountingLink), caplog)
    finally:
        broker.stop()
    assert problem.kind is RelayProblemKind.TLS
    assert "Hostname mismatch" in problem.reason
    assert "the exact --host given to `heartline broker setup`" in problem.fix


@pytest.mark.parametrize("protocol", ["mqtt5", "mqtt311"])
async def test_a_wrong_password_is_a_refused_login(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    config = node_config(mosquitto_broker, 0, tmp_path / "a", password="not-the-password", protocol=protocol)
    problem = await _fails_once(RelayNode(config, link_class=CountingLink), caplog)
    assert problem.kind is RelayProblemKind.LOGIN
    # mosquitto answers a wrong password with "not authorised" (MQTT 5: 0x87; 3.1.1: code 5).
    assert problem.reason == (
        f"the broker at 127.0.0.1:{mosquitto_broker.port} refused the login for {HUB_A!r} (Not authorized)"
    )
    assert "relay.password" in problem.fix


async def test_an_unknown_host_is_a_dns_problem(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = node_config(mosquitto_broker, 0, tmp_path / "a", broker_url="mqtts://relay.invalid:8883")
    problem = await _fails_once(RelayNode(config, link_class=CountingLink), caplog)
    assert problem.kind is RelayProblemKind.DNS
    assert problem.reason.startswith("cannot resolve the broker's host name 'relay.invalid' (")
    assert "relay.broker" in problem.fix


async def test_a_closed_port_is_unreachable(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (closed,) = free_ports(1)  # nothing listens there once the probe socket is closed
    config = node_config(mosquitto_broker, 0, tmp_path / "a", port=closed)
    problem = await _fails_once(RelayNode(config, link_class=CountingLink), caplog)
    assert problem.kind is RelayProblemKind.UNREACHABLE
    assert problem.reason == f"nothing accepts connections at 127.0.0.1:{closed} (connection refused)"
    assert problem.fix == "check the port in relay.broker and that the broker runs there"


async def test_recovery_clears_the_problem_and_a_new_failure_is_logged_again(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LINK_LOGGER)
    mosquitto_broker.stop()
    node = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"), link_class=CountingLink)
    await node.start(wait_connected=False)
    try:
        link = node.link
        assert isinstance(link, CountingLink)
        await eventually(lambda: len(link.reports) >= 2, within_s=START_S, what="retries")
        mosquitto_broker.start()
        await eventually(
            lambda: link.connected.is_set() and link.problem is None, within_s=START_S, what="recovery"
        )
        # Logged at the SUBACK, a moment after the CONNACK that cleared the problem.
        await eventually(
            lambda: any(r.getMessage().startswith("relay working again") for r in caplog.records),
            within_s=START_S,
            what="the recovery logged",
        )
        mosquitto_broker.stop()
        await eventually(lambda: link.problem, within_s=START_S, what="the broker to be gone again")
        assert len(_logged(caplog)) == 2  # once per outage, not once per retry
    finally:
        await node.stop()


# -- subscriptions the broker's ACL denies -------------------------------------------------------


async def test_mosquitto_acl_file_grants_a_denied_subscription_and_filters_silently(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    """What the hub can NOT detect: mosquitto 2.x's acl_file answers every SUBSCRIBE with
    success (src/security_default.c skips subscribe checks) and drops denied messages at
    delivery. The hub sees a healthy link; nothing for it ever arrives."""
    acl = mosquitto_broker.setup.acl_path
    acl.write_text(acl.read_text().replace("pattern read hl/v1/+/%u/in\n", ""))
    mosquitto_broker.restart()
    a, b = await started_pair(mosquitto_broker, tmp_path)
    try:
        b.send()
        await eventually(
            lambda: b.relay.outbox_depth == 1 and b.sent()[0].fate.value == "sent", what="B's PUBACK"
        )
        assert a.link.connected.is_set()
        assert a.link.problem is None  # granted: the broker gave no sign
        assert a.received() == []
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize("protocol", ["mqtt5", "mqtt311"])
async def test_a_refused_inbox_subscription_is_reported(
    mosquitto_binary: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    """mosquitto with its dynamic-security plugin does check subscriptions: SUBACK 0x87 (MQTT 5)
    or 0x80 (3.1.1). The hub stays connected (it can still send) but says it cannot receive."""
    plugin = DYNSEC_PLUGIN
    if plugin is None:
        pytest.fail("mosquitto_dynamic_security.so not found; `make test` installs mosquitto", pytrace=False)
    caplog.set_level(logging.INFO, logger=LINK_LOGGER)
    broker = _dynsec_broker(mosquitto_binary, tmp_path / "relay", plugin)
    try:
        node = RelayNode(node_config(broker, 0, tmp_path / "a", protocol=protocol))
        await node.start()
        try:
            problem = await eventually(lambda: node.link.problem, what="the refused subscription")
        finally:
            await node.stop()
    finally:
        broker.stop()
    inbox = inbox_topic(COUPLE.couple_id, HUB_A)
    assert problem.kind is RelayProblemKind.SUBSCRIBE_DENIED
    code = "Not authorized, 0x87" if protocol == "mqtt5" else "Unspecified error, 0x80"
    assert problem.reason == f"the broker refused the subscription to {inbox} for {HUB_A!r} ({code})"
    assert "the broker's ACL must let this hub read its topics" in problem.fix
    assert _logged(caplog) == [f"relay: {problem}"]


def _broker_for_host(binary: Path, out_dir: Path, host: str) -> Broker:
    port, tls_port = free_ports(2)
    setup = setup_relay(
        out_dir,
        host=host,
        port=port,
        tls_port=tls_port,
        couples=[COUPLE],
        tls_bind_address=LOOPBACK,
        run_as="root" if os.geteuid() == 0 else None,
    )
    broker = Broker.from_setup(binary, setup)
    broker.start()
    return broker


def _dynsec_broker(binary: Path, out_dir: Path, plugin: Path) -> Broker:
    """The relay's own config with the dynamic-security plugin in place of passwd and acl:
    hub A may log in, publish and read its partner's status, but not subscribe to its inbox."""
    broker = start_broker(binary, out_dir)
    broker.stop()
    role_acls = [
        {"acltype": "publishClientSend", "topic": "hl/v1/#", "priority": 0, "allow": True},
        {
            "acltype": "subscribeLiteral",
            "topic": f"hl/v1/{COUPLE.couple_id}/{HUB_B}/status",
            "priority": 0,
            "allow": True,
        },
    ]
    dynsec = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [_dynsec_client(HUB_A, broker.password(HUB_A))],
        "groups": [],
        "roles": [{"rolename": "hub", "acls": role_acls}],
    }
    dynsec_path = out_dir / "dynsec.json"
    dynsec_path.write_text(json.dumps(dynsec), encoding="utf-8")
    lines = [
        line
        for line in broker.config_path.read_text(encoding="utf-8").splitlines()
        if not line.startswith(("password_file ", "acl_file "))
    ]
    lines[lines.index("allow_anonymous false") + 1 : lines.index("allow_anonymous false") + 1] = [
        f"plugin {plugin}",
        f"plugin_opt_config_file {dynsec_path}",
    ]
    broker.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broker.start()
    return broker


def _dynsec_client(username: str, password: str) -> dict[str, object]:
    # The plugin's own format: PBKDF2-HMAC-SHA512, a 12-byte salt, base64 (plugins/dynamic-security).
    salt = secrets.token_bytes(12)
    iterations = 101
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return {
        "username": username,
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
        "roles": [{"rolename": "hub"}],
    }
