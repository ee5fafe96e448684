"""The generated relay config, exercised against a real mosquitto with paho-mqtt 2.x."""

from __future__ import annotations

import queue
import re
import socket
import ssl
import stat
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hub.broker import certs, config, passwords
from hub.broker.config import Couple, RelayConfigError, inbox_topic, status_topic
from hub.broker.setup import LOCAL_PORT, setup_new_couple, setup_relay
from tests.support.mosquitto import COUPLE, OTHER_COUPLE, Broker

if TYPE_CHECKING:
    from collections.abc import Iterator

# Every wait in these tests is bounded by this; a healthy local broker answers in milliseconds,
# and the bound is for a machine busy with other work.
WAIT_S: Final = 30.0
# MQTT 5 reason codes (spec table 2-6) the broker must send.
NOT_AUTHORIZED: Final = 0x87
BAD_USERNAME_OR_PASSWORD: Final = 0x86
# Long enough to outlive every test's broker; the value itself is not under test.
SESSION_EXPIRY_S: Final = 300

PROTOCOLS: Final = [
    pytest.param(mqtt.MQTTv5, id="mqtt5"),
    pytest.param(mqtt.MQTTv311, id="mqtt311"),
]

HUB_A, HUB_B = COUPLE.hubs
HUB_C, HUB_D = OTHER_COUPLE.hubs
C1 = COUPLE.couple_id
C2 = OTHER_COUPLE.couple_id


@dataclass(eq=False)
class Client:
    """A paho client whose callbacks only feed queues and dicts the test thread waits on."""

    protocol: MQTTProtocolVersion
    client_id: str
    clean: bool = True
    paho: mqtt.Client = field(init=False)
    messages: queue.Queue[mqtt.MQTTMessage] = field(default_factory=queue.Queue)
    connacks: queue.Queue[tuple[ReasonCode, bool]] = field(default_factory=queue.Queue)
    disconnects: list[ReasonCode] = field(default_factory=list)
    connack: ReasonCode | None = None
    session_present: bool = False
    _acks: dict[int, ReasonCode] = field(default_factory=dict)
    _subacks: dict[int, list[ReasonCode]] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        v5 = self.protocol == mqtt.MQTTv5
        self.paho = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            clean_session=None if v5 else self.clean,
        )
        self.paho.connect_timeout = WAIT_S
        self.paho.on_connect = self._on_connect
        self.paho.on_message = self._on_message
        self.paho.on_publish = self._on_publish
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_disconnect = self._on_disconnect

    def _on_connect(
        self,
        _c: mqtt.Client,
        _u: object,
        flags: mqtt.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self.connacks.put((rc, flags.session_present))

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self.messages.put(msg)

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties) -> None:
        with self._cond:
            self._acks[mid] = rc
            self._cond.notify_all()

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, rcs: list[ReasonCode], _p: Properties
    ) -> None:
        with self._cond:
            self._subacks[mid] = rcs
            self._cond.notify_all()

    def _on_disconnect(
        self,
        _c: mqtt.Client,
        _u: object,
        _f: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self.disconnects.append(rc)

    def connect(
        self,
        host: str,
        port: int,
        *,
        username: str | None,
        password: str | None,
        tls_ca: Path | None = None,
    ) -> tuple[ReasonCode, bool]:
        """Connect and return the CONNACK (reason, session present)."""
        if username is not None:
            self.paho.username_pw_set(username, password)
        if tls_ca is not None:
            # Verification and host-name checking on, exactly as a hub does it.
            self.paho.tls_set_context(ssl.create_default_context(cafile=str(tls_ca)))
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0 if self.clean else SESSION_EXPIRY_S
            self.paho.connect(host, port, clean_start=self.clean, properties=props)
        else:
            self.paho.connect(host, port)
        self.paho.loop_start()
        try:
            self.connack, self.session_present = self.connacks.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"no CONNACK from {host}:{port} within {WAIT_S} s") from None
        return self.connack, self.session_present

    def _wait(self, table: dict[int, ReasonCode] | dict[int, list[ReasonCode]], mid: int) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: mid in table, timeout=WAIT_S):
                raise AssertionError(f"no acknowledgement for packet {mid} within {WAIT_S} s")

    def subscribe(self, *topics: str) -> list[ReasonCode]:
        result, mid = self.paho.subscribe([(topic, 1) for topic in topics])
        assert result == mqtt.MQTT_ERR_SUCCESS, result
        assert mid is not None
        self._wait(self._subacks, mid)
        return self._subacks[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        """Publish QoS 1 and return the PUBACK reason (always success for MQTT 3.1.1)."""
        info = self.paho.publish(topic, payload, qos=1, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, info.rc
        self._wait(self._acks, info.mid)
        return self._acks[info.mid]

    def expect(self, payload: bytes) -> mqtt.MQTTMessage:
        """The next message must carry ``payload``: nothing else may arrive before it."""
        try:
            msg = self.messages.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"{payload!r} not received within {WAIT_S} s") from None
        assert msg.payload == payload, f"expected {payload!r}, got {msg.topic}: {msg.payload!r}"
        return msg

    def assert_no_messages(self) -> None:
        leaked = []
        while not self.messages.empty():
            msg = self.messages.get_nowait()
            leaked.append((msg.topic, msg.payload))
        assert not leaked, f"received messages it must not see: {leaked}"

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


class Connect(Protocol):
    def __call__(
        self,
        hub_id: str | None,
        *,
        protocol: MQTTProtocolVersion = ...,
        password: str | None = ...,
        tls: bool = ...,
        host: str | None = ...,
        clean: bool = ...,
        client_id: str | None = ...,
        expect_ok: bool = ...,
    ) -> Client: ...


@pytest.fixture
def connect(mosquitto_broker: Broker) -> Iterator[Connect]:
    """Open clients to the test broker; all are closed (before the broker stops)."""
    opened: list[Client] = []
    broker = mosquitto_broker

    def _connect(
        hub_id: str | None,
        *,
        protocol: MQTTProtocolVersion = mqtt.MQTTv5,
        password: str | None = None,
        tls: bool = False,
        host: str | None = None,
        clean: bool = True,
        client_id: str | None = None,
        expect_ok: bool = True,
    ) -> Client:
        client = Client(protocol=protocol, client_id=client_id or hub_id or "", clean=clean)
        opened.append(client)
        if hub_id is not None and password is None:
            password = broker.password(hub_id)
        if tls:
            rc, _ = client.connect(
                host or broker.tls_host,
                broker.tls_port,
                username=hub_id,
                password=password,
                tls_ca=broker.ca_path,
            )
        else:
            rc, _ = client.connect(broker.host, broker.port, username=hub_id, password=password)
        if expect_ok:
            assert not rc.is_failure, f"{hub_id} could not connect: {rc}"
        return client

    try:
        yield _connect
    finally:
        for client in opened:
            client.close()


def _granted(codes: list[ReasonCode]) -> bool:
    return all(not rc.is_failure for rc in codes)


# --- hubs of one couple talk -------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_partner_receives_signal_in_its_inbox(connect: Connect, protocol: MQTTProtocolVersion) -> None:
    hub_a = connect(HUB_A, protocol=protocol)
    hub_b = connect(HUB_B, protocol=protocol)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    assert _granted(hub_b.subscribe(inbox_topic(C1, HUB_B)))

    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"thinking of you").is_failure
    msg = hub_a.expect(b"thinking of you")
    assert (msg.topic, msg.qos, msg.retain) == (inbox_topic(C1, HUB_A), 1, False)

    assert not hub_a.publish(inbox_topic(C1, HUB_B), b"felt it").is_failure
    hub_b.expect(b"felt it")


def test_status_is_retained_for_the_partner(connect: Connect) -> None:
    hub_a = connect(HUB_A)
    ack = hub_a.publish(status_topic(C1, HUB_A), config.STATUS_ONLINE.encode(), retain=True)
    assert not ack.is_failure
    hub_b = connect(HUB_B)  # connects later and still learns A is online
    assert _granted(hub_b.subscribe(status_topic(C1, HUB_A)))
    msg = hub_b.expect(b"online")
    assert msg.retain


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_generated_password_is_accepted_by_mosquitto(
    connect: Connect, protocol: MQTTProtocolVersion
) -> None:
    for hub_id in (*COUPLE.hubs, *OTHER_COUPLE.hubs):
        client = connect(hub_id, protocol=protocol)
        assert client.connack is not None
        assert not client.connack.is_failure


# --- nobody else gets in -------------------------------------------------------------------


@pytest.mark.parametrize("other_couples_password", [False, True], ids=["guessed", "leaked"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_password_is_refused(
    mosquitto_broker: Broker,
    connect: Connect,
    protocol: MQTTProtocolVersion,
    other_couples_password: bool,
) -> None:
    # "leaked": another couple's real password under this couple's username. A login leaked
    # from one couple does not open any other hub's account.
    password = mosquitto_broker.password(HUB_C) if other_couples_password else "guess"
    client = connect(HUB_A, protocol=protocol, password=password, expect_ok=False)
    assert client.connack is not None
    assert client.connack.is_failure
    if protocol == mqtt.MQTTv5:
        assert client.connack.value in {BAD_USERNAME_OR_PASSWORD, NOT_AUTHORIZED}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_anonymous_is_refused(connect: Connect, protocol: MQTTProtocolVersion) -> None:
    client = connect(None, protocol=protocol, client_id="anonymous-probe", expect_ok=False)
    assert client.connack is not None
    assert client.connack.is_failure


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_other_couple_cannot_read_this_couple(connect: Connect, protocol: MQTTProtocolVersion) -> None:
    intruder = connect(HUB_C, protocol=protocol)
    intruder_partner = connect(HUB_D, protocol=protocol)
    intruder.subscribe(
        inbox_topic(C1, HUB_A),
        status_topic(C1, HUB_A),
        f"{config.TOPIC_ROOT}/{C1}/#",
        f"{config.TOPIC_ROOT}/+/+/in",
        "#",
    )
    assert _granted(intruder.subscribe(inbox_topic(C2, HUB_C)))
    hub_a = connect(HUB_A, protocol=protocol)
    hub_b = connect(HUB_B, protocol=protocol)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))

    assert not hub_a.publish(status_topic(C1, HUB_A), b"online", retain=True).is_failure
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"private").is_failure
    hub_a.expect(b"private")
    # Sent after the couple's messages were acknowledged, so it would queue behind them.
    assert not intruder_partner.publish(inbox_topic(C2, HUB_C), b"sentinel").is_failure
    intruder.expect(b"sentinel")
    leaked = [m.topic for m in _drain(intruder) if m.topic.startswith(f"{config.TOPIC_ROOT}/{C1}/")]
    assert not leaked, f"another couple's hub read {leaked}"


def _drain(client: Client) -> list[mqtt.MQTTMessage]:
    out = []
    while not client.messages.empty():
        out.append(client.messages.get_nowait())
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_other_couple_cannot_write_this_couple(connect: Connect, protocol: MQTTProtocolVersion) -> None:
    hub_a = connect(HUB_A, protocol=protocol)
    hub_b = connect(HUB_B, protocol=protocol)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    assert _granted(hub_b.subscribe(status_topic(C1, HUB_A)))
    intruder = connect(HUB_C, protocol=protocol)

    forged = [
        intruder.publish(inbox_topic(C1, HUB_A), b"forged touch"),
        intruder.publish(status_topic(C1, HUB_A), b"offline", retain=True),
    ]
    if protocol == mqtt.MQTTv5:
        assert [rc.value for rc in forged] == [NOT_AUTHORIZED, NOT_AUTHORIZED]
    # MQTT 3.1.1 has no negative PUBACK: mosquitto acknowledges and drops. Prove the drop:
    # legitimate messages sent afterwards arrive first and alone.
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"sentinel").is_failure
    hub_a.expect(b"sentinel")
    assert not hub_a.publish(status_topic(C1, HUB_A), b"online", retain=True).is_failure
    hub_b.expect(b"online")
    hub_a.assert_no_messages()
    hub_b.assert_no_messages()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hub_cannot_read_its_partners_inbox(connect: Connect, protocol: MQTTProtocolVersion) -> None:
    hub_a = connect(HUB_A, protocol=protocol)
    hub_b = connect(HUB_B, protocol=protocol)
    hub_a.subscribe(inbox_topic(C1, HUB_B), inbox_topic(C1, HUB_A))
    assert _granted(hub_b.subscribe(inbox_topic(C1, HUB_B)))
    assert not hub_a.publish(inbox_topic(C1, HUB_B), b"for b only").is_failure
    hub_b.expect(b"for b only")
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"sentinel").is_failure
    hub_a.expect(b"sentinel")
    hub_a.assert_no_messages()


def test_client_id_of_another_hub_cannot_take_over_its_session(connect: Connect) -> None:
    hub_a = connect(HUB_A)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    # use_username_as_clientid: the broker replaces this client id with HUB_C.
    connect(HUB_C, client_id=HUB_A)
    hub_b = connect(HUB_B)
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"still yours").is_failure
    hub_a.expect(b"still yours")
    assert hub_a.disconnects == []


# --- TLS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_listener_with_verification(connect: Connect, protocol: MQTTProtocolVersion, host: str) -> None:
    hub_a = connect(HUB_A, protocol=protocol, tls=True, host=host)
    hub_b = connect(HUB_B, protocol=protocol, tls=True, host=host)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"over tls").is_failure
    hub_a.expect(b"over tls")


def _tls_handshake(broker: Broker, context: ssl.SSLContext, server_hostname: str) -> None:
    with (
        socket.create_connection((broker.host, broker.tls_port), timeout=WAIT_S) as sock,
        context.wrap_socket(sock, server_hostname=server_hostname),
    ):
        pass


def test_tls_rejects_other_ca_and_other_host_name(mosquitto_broker: Broker, tmp_path: Path) -> None:
    # The relay's own CA and name: the handshake completes.
    _tls_handshake(mosquitto_broker, ssl.create_default_context(cafile=mosquitto_broker.ca_path), "localhost")
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(certs.generate_ca("Someone else").cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _tls_handshake(mosquitto_broker, ssl.create_default_context(cafile=other_ca), "localhost")
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        _tls_handshake(
            mosquitto_broker,
            ssl.create_default_context(cafile=mosquitto_broker.ca_path),
            "relay.example.org",
        )


def _mqtt311_connect_packet(client_id: str, username: str, password: str) -> bytes:
    def field_(text: str) -> bytes:
        data = text.encode()
        return struct.pack("!H", len(data)) + data

    # Protocol name, level 4, flags: username + password + clean session, keep-alive 60 s.
    variable = field_("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60)
    body = variable + field_(client_id) + field_(username) + field_(password)
    assert len(body) < 128  # one-byte remaining length
    return bytes([0x10, len(body)]) + body


def test_plaintext_mqtt_to_tls_port_fails(mosquitto_broker: Broker) -> None:
    packet = _mqtt311_connect_packet(HUB_A, HUB_A, mosquitto_broker.password(HUB_A))
    # Control: the same bytes on the loopback plain listener get a CONNACK (0x20) accepted (0).
    with socket.create_connection((mosquitto_broker.host, mosquitto_broker.port), WAIT_S) as s:
        s.sendall(packet)
        assert s.recv(4) == bytes([0x20, 2, 0, 0])
    with socket.create_connection((mosquitto_broker.host, mosquitto_broker.tls_port), WAIT_S) as s:
        s.sendall(packet)
        try:
            reply = s.recv(4)
        except ConnectionResetError:
            reply = b""
    assert not reply.startswith(b"\x20"), f"TLS port answered plain MQTT: {reply!r}"


# --- persistence -----------------------------------------------------------------------------


def _queue_for_offline_hub(connect: Connect, protocol: MQTTProtocolVersion, payload: bytes) -> None:
    """A's persistent session subscribes and goes offline; B's QoS 1 message is acknowledged."""
    hub_a = connect(HUB_A, protocol=protocol, clean=False)
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    hub_a.close()
    hub_b = connect(HUB_B, protocol=protocol)
    assert not hub_b.publish(inbox_topic(C1, HUB_A), payload).is_failure
    hub_b.close()  # done; a client left open would spend the broker's downtime reconnecting


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_acknowledged_message_survives_sigkill(
    mosquitto_broker: Broker, connect: Connect, protocol: MQTTProtocolVersion
) -> None:
    payload = b"survives-sigkill"
    _queue_for_offline_hub(connect, protocol, payload)
    # mosquitto acknowledges before it saves (no broker setting changes that); with our
    # setting the save follows within one loop turn. The hub's outbox covers that window:
    # the sender keeps the message until the partner's receipt.
    lag = mosquitto_broker.wait_until_saved(payload)
    assert lag < 1.0, f"saved {lag:.3f} s after the PUBACK"
    mosquitto_broker.kill()  # no graceful save on the way out
    mosquitto_broker.start()
    hub_a = connect(HUB_A, protocol=protocol, clean=False)
    assert hub_a.session_present
    hub_a.expect(payload)


def test_default_autosave_would_lose_it(mosquitto_broker: Broker, connect: Connect) -> None:
    """Control for the test above: with mosquitto's default (save every 1800 s) the same
    SIGKILL loses the acknowledged message, so that test really measures our setting."""
    text = mosquitto_broker.config_path.read_text()
    ours = f"autosave_on_changes true\nautosave_interval {config.AUTOSAVE_INTERVAL_CHANGES}\n"
    assert ours in text
    mosquitto_broker.config_path.write_text(text.replace(ours, ""))
    mosquitto_broker.restart()

    _queue_for_offline_hub(connect, mqtt.MQTTv5, b"lost")
    mosquitto_broker.kill()
    mosquitto_broker.start()
    hub_a = connect(HUB_A, clean=False)
    assert not hub_a.session_present
    assert _granted(hub_a.subscribe(inbox_topic(C1, HUB_A)))
    hub_b = connect(HUB_B)
    assert not hub_b.publish(inbox_topic(C1, HUB_A), b"sentinel").is_failure
    hub_a.expect(b"sentinel")


def test_restart_keeps_ports_and_sessions(mosquitto_broker: Broker, connect: Connect) -> None:
    port, tls_port, pid = mosquitto_broker.port, mosquitto_broker.tls_port, mosquitto_broker.pid
    _queue_for_offline_hub(connect, mqtt.MQTTv311, b"after restart")
    mosquitto_broker.restart()
    assert (mosquitto_broker.port, mosquitto_broker.tls_port) == (port, tls_port)
    assert mosquitto_broker.pid != pid
    connect(HUB_A, protocol=mqtt.MQTTv311, clean=False).expect(b"after restart")


# --- the generated files -------------------------------------------------------------------


def _mosquitto_passwd(mosquitto_binary: Path) -> Path:
    candidates = (mosquitto_binary.parent / "mosquitto_passwd", Path("/usr/bin/mosquitto_passwd"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail("mosquitto_passwd not found next to mosquitto; `make test` installs it")


def test_password_hash_matches_mosquitto_passwd(mosquitto_binary: Path, tmp_path: Path) -> None:
    tool = _mosquitto_passwd(mosquitto_binary)
    path = tmp_path / "passwd"
    secret = "correct horse battery staple"
    subprocess.run([tool, "-b", "-c", path, "hub1", secret], check=True, timeout=WAIT_S)
    user, encoded = path.read_text().strip().split(":", 1)
    assert user == "hub1"
    theirs = passwords.PasswordHash.parse(encoded)
    assert passwords.verify_password(secret, encoded)
    assert not passwords.verify_password(secret + "!", encoded)
    ours = passwords.hash_password(secret, iterations=theirs.iterations, salt=theirs.salt)
    assert str(ours) == encoded


def test_password_line_round_trip() -> None:
    line = passwords.password_file_line("h7f3a9c2e1b", "s3cret")
    user, encoded = line.split(":", 1)
    parsed = passwords.PasswordHash.parse(encoded)
    assert user == "h7f3a9c2e1b"
    assert parsed.iterations == passwords.DEFAULT_ITERATIONS
    assert len(parsed.salt) == passwords.SALT_BYTES
    assert str(parsed) == encoded
    assert passwords.verify_password("s3cret", encoded)
    with pytest.raises(ValueError, match="username"):
        passwords.password_file_line("a:b", "x")
    with pytest.raises(ValueError, match=r"\$7\$"):
        passwords.PasswordHash.parse("$6$abc$def")


@pytest.fixture
def relay(tmp_path: Path) -> Path:
    return tmp_path / "relay"


def test_setup_writes_files_with_safe_modes(relay: Path) -> None:
    setup = setup_relay(relay, host="relay.example.org", port=1883, tls_port=8883, couples=[COUPLE])
    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in (
            setup.out_dir,
            setup.persistence_dir,
            setup.config_path,
            setup.acl_path,
            setup.password_path,
            *(p for p in (setup.ca_cert_path, setup.ca_key_path) if p),
            *(p for p in (setup.server_cert_path, setup.server_key_path) if p),
        )
    }
    assert modes == {
        "relay": 0o700,
        "data": 0o700,
        "mosquitto.conf": 0o644,
        "acl": 0o600,
        "passwd": 0o600,
        "ca.crt": 0o644,
        "ca.key": 0o600,
        "server.crt": 0o644,
        "server.key": 0o600,
    }
    assert not [p.name for p in relay.iterdir() if p.name.startswith(".")], "temp files left"
    secrets_on_disk = "".join(p.read_text() for p in relay.iterdir() if p.is_file())
    for cred in setup.credentials.values():
        assert cred.password not in secrets_on_disk
        assert cred.password not in repr(setup)


def test_setup_config_and_acl_contents(relay: Path) -> None:
    setup = setup_relay(
        relay,
        host="relay.example.org",
        port=1883,
        tls_port=8883,
        couples=[COUPLE, OTHER_COUPLE],
        tls_bind_address="0.0.0.0",
        run_as="root",
    )
    conf = setup.config_path.read_text().splitlines()
    for line in (
        "allow_anonymous false",
        "per_listener_settings false",
        "user root",
        "persistence true",
        "autosave_on_changes true",
        "autosave_interval 1",
        "max_queued_messages 10000",
        "listener 1883 127.0.0.1",
        "listener 8883 0.0.0.0",
        "tls_version tlsv1.2",
        f"cafile {setup.ca_cert_path}",
        "use_username_as_clientid true",
        "max_qos 1",
    ):
        assert line in conf
    acl = setup.acl_path.read_text().splitlines()
    assert acl.count("pattern read hl/v1/+/%u/in") == 1
    assert acl.count("pattern readwrite hl/v1/+/%u/status") == 1
    a_block = acl[acl.index(f"user {HUB_A}") :][:3]
    assert a_block == [
        f"user {HUB_A}",
        f"topic write hl/v1/{C1}/{HUB_B}/in",
        f"topic read hl/v1/{C1}/{HUB_B}/status",
    ]
    # Anonymous clients get no topic: nothing but comments/patterns before the first user.
    head = acl[: next(i for i, line in enumerate(acl) if line.startswith("user "))]
    assert not [line for line in head if line.startswith("topic")]
    assert setup.credentials[HUB_C].partner_id == HUB_D


def test_setup_without_tls_and_keeping_passwords(relay: Path) -> None:
    first = setup_relay(relay, host="127.0.0.1", port=1883, tls_port=None, couples=[COUPLE])
    assert first.ca_cert_path is None
    assert "certfile" not in first.config_path.read_text()
    kept = {HUB_A: first.credentials[HUB_A].password}
    second = setup_relay(
        relay, host="127.0.0.1", port=1883, tls_port=None, couples=[COUPLE], hub_passwords=kept
    )
    assert second.credentials[HUB_A].password == kept[HUB_A]
    assert second.credentials[HUB_B].password != first.credentials[HUB_B].password
    with pytest.raises(RelayConfigError, match="hub_passwords"):
        setup_relay(relay, host="x", port=1, tls_port=None, couples=[COUPLE], hub_passwords={"nope": "x"})


def test_setup_for_a_new_couple_makes_fresh_ids(relay: Path) -> None:
    first = setup_new_couple(relay / "one", host="relay.example.org", tls_port=8883)
    second = setup_new_couple(relay / "two", host="relay.example.org", tls_port=8883)
    (couple,) = first.couples
    assert couple != second.couples[0]
    assert re.fullmatch(r"c[0-9a-f]{10}", couple.couple_id)
    assert all(re.fullmatch(r"h[0-9a-f]{10}", hub_id) for hub_id in couple.hubs)
    assert set(first.credentials) == set(couple.hubs)
    assert (first.port, first.tls_port) == (LOCAL_PORT, 8883)


@pytest.mark.parametrize("bad", ["", "a/b", "h+", "h#", "h%u", "a b", "a:b", "h" * 24, "hé"])
def test_bad_hub_ids_are_rejected(bad: str) -> None:
    with pytest.raises(RelayConfigError, match="hub id"):
        Couple("c1", (bad, "h2"))


def test_couples_must_not_share_hubs(relay: Path) -> None:
    with pytest.raises(RelayConfigError, match="exactly one couple"):
        config.check_couples([Couple("c1", ("h1", "h2")), Couple("c2", ("h2", "h3"))])
    with pytest.raises(RelayConfigError, match="two different"):
        Couple("c1", ("h1", "h1"))
    with pytest.raises(RelayConfigError, match="whitespace"):
        setup_relay(relay / "with space", host="h", port=1, tls_port=None, couples=[COUPLE])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("relay.example.org", ["DNS:relay.example.org", "IP:127.0.0.1"]),
        ("192.0.2.7", ["IP:192.0.2.7", "IP:127.0.0.1"]),
        ("127.0.0.1", ["IP:127.0.0.1"]),
    ],
)
def test_server_certificate_names_host_and_loopback(host: str, expected: list[str]) -> None:
    ca = certs.generate_ca()
    server = certs.issue_server_certificate(ca, host).certificate
    server.verify_directly_issued_by(ca.certificate)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = [f"DNS:{n.value}" if isinstance(n, x509.DNSName) else f"IP:{n.value}" for n in san]
    assert names == expected
    basic = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca
