"""`heartline broker setup` and `broker add-couple` as a person runs them: the files, their owners,
the login files, never replacing a relay silently, and a real mosquitto started from the result
(as root it switches to the mosquitto user) keeping two couples apart."""

from __future__ import annotations

import functools
import os
import pwd
import queue
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from hub.broker.config import inbox_topic, status_topic
from hub.broker.login import LoginFileError, RelayLogin, read_login
from hub.broker.service_user import choose_run_as
from hub.broker.setup import RelaySetup
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import WAIT_S, eventually_sync

NOT_AUTHORIZED: Final = 0x87
IS_ROOT: Final = os.geteuid() == 0


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def heartline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory the mosquitto user can walk into (pytest's own tmp dirs are root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="heartline-relay-test-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _setup(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = heartline("broker", "setup", "--out", str(out), "--host", "relay.example.org", *extra)
    assert result.returncode == 0, result.stderr
    return result


def test_setup_writes_a_relay_and_one_login_per_hub(base: Path) -> None:
    relay = base / "relay"
    result = _setup(relay)
    state = tomllib.loads((relay / "relay.toml").read_text())
    ((couple,),) = [state["couples"]]
    first, second = (read_login(relay / "couple-1" / name) for name in ("hub-a.login", "hub-b.login"))
    assert (first.hub_id, first.partner_hub_id) == tuple(couple["hubs"])
    assert (second.hub_id, second.partner_hub_id) == tuple(reversed(couple["hubs"]))
    assert first.couple_id == second.couple_id == couple["couple_id"]
    assert first.broker == "mqtts://relay.example.org:8883"
    assert first.ca_pem == (relay / "ca.crt").read_text()
    assert first.password != second.password
    for text in (couple["couple_id"], *couple["hubs"], "couple-1/hub-a.login", "couple-1/hub-b.login"):
        assert text in result.stdout
    assert first.password not in result.stdout  # the password is in the login file, not on screen
    conf = (relay / "mosquitto.conf").read_text().splitlines()
    assert "listener 8883 0.0.0.0" in conf  # every interface: works behind NAT
    assert "listener 1883 127.0.0.1" in conf
    san = (
        x509.load_pem_x509_certificate((relay / "server.crt").read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert [str(name.value) for name in san] == ["relay.example.org", "127.0.0.1"]
    for path in (
        relay / "relay.toml",
        relay / "couple-1" / "hub-a.login",
        relay / "couple-1" / "hub-b.login",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.password not in (relay / "relay.toml").read_text()


@pytest.mark.slow  # a relay setup and a real mosquitto
def test_ports_and_no_local_listener(base: Path) -> None:
    _setup(base / "r1", "--port", "9883", "--bind", "192.0.2.1", "--local-port", "11883")
    conf = (base / "r1" / "mosquitto.conf").read_text().splitlines()
    assert "listener 9883 192.0.2.1" in conf
    assert "listener 11883 127.0.0.1" in conf
    assert read_login(base / "r1" / "couple-1" / "hub-a.login").broker == "mqtts://relay.example.org:9883"
    _setup(base / "r2", "--no-local")
    assert not [
        line for line in (base / "r2" / "mosquitto.conf").read_text().splitlines() if "127.0.0.1" in line
    ]


@pytest.mark.slow  # several relay setups, each with its certificates
def test_setup_never_replaces_a_relay_silently(base: Path) -> None:
    relay = base / "relay"
    _setup(relay)
    ca, passwd = (relay / "ca.crt").read_bytes(), (relay / "passwd").read_bytes()
    again = heartline("broker", "setup", "--out", str(relay), "--host", "relay.example.org")
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1
    assert "already holds a relay" in again.stderr
    assert "add-couple" in again.stderr
    assert "--force" in again.stderr
    assert ((relay / "ca.crt").read_bytes(), (relay / "passwd").read_bytes()) == (ca, passwd)
    heartline("broker", "add-couple", "--out", str(relay))
    _setup(relay, "--force")
    assert (relay / "ca.crt").read_bytes() != ca
    assert not (relay / "couple-2").exists()  # the old logins belonged to the replaced CA


@pytest.mark.slow  # two relay setups with their certificates
def test_add_couple_keeps_the_ca_and_every_existing_login(base: Path) -> None:
    relay = base / "relay"
    _setup(relay)
    kept = {name: (relay / name).read_bytes() for name in ("ca.crt", "ca.key", "server.crt", "server.key")}
    old_passwd = (relay / "passwd").read_text().splitlines()
    result = heartline("broker", "add-couple", "--out", str(relay))
    assert result.returncode == 0, result.stderr
    assert "SIGHUP" in result.stdout
    assert {name: (relay / name).read_bytes() for name in kept} == kept
    new_passwd = (relay / "passwd").read_text().splitlines()
    assert set(old_passwd) < set(new_passwd)
    assert len(new_passwd) == 4
    state = tomllib.loads((relay / "relay.toml").read_text())
    assert [c["number"] for c in state["couples"]] == [1, 2]
    second = read_login(relay / "couple-2" / "hub-a.login")
    assert second.couple_id == state["couples"][1]["couple_id"]
    acl = (relay / "acl").read_text()
    for couple in state["couples"]:
        assert f"# couple {couple['couple_id']}" in acl
    assert second.couple_id in result.stdout


def test_add_couple_needs_a_relay(base: Path) -> None:
    result = heartline("broker", "add-couple", "--out", str(base / "nothing"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "heartline broker setup" in result.stderr


def test_login_file_round_trip_and_errors(tmp_path: Path) -> None:
    login = RelayLogin(
        broker="mqtts://relay.example.org:8883",
        hub_id="h1",
        partner_hub_id="h2",
        couple_id="c1",
        password='odd "pw" \\ 💕',
        ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    path = tmp_path / "hub-a.login"
    path.write_text(login.render(), encoding="utf-8")
    assert read_login(path) == login
    with pytest.raises(LoginFileError, match="not found"):
        read_login(tmp_path / "missing.login")
    path.write_text('broker = "x"\n')
    with pytest.raises(LoginFileError, match="has no hub_id"):
        read_login(path)


def test_as_a_normal_user_nothing_changes_owner() -> None:
    run_as = choose_run_as(None, euid=1000)
    assert (run_as.user_line, run_as.owner) == (None, None)


@pytest.mark.skipif(not IS_ROOT or not _has_user("mosquitto"), reason="needs root and a mosquitto user")
def test_as_root_the_files_mosquitto_reads_are_its_own(base: Path) -> None:
    relay = base / "relay"
    result = _setup(relay)
    assert "user mosquitto" in (relay / "mosquitto.conf").read_text().splitlines()
    assert "mosquitto" in result.stdout
    mosquitto = pwd.getpwnam("mosquitto").pw_uid
    owners = {path.name: path.stat().st_uid for path in relay.iterdir()}
    for name in (
        "acl",
        "passwd",
        "ca.crt",
        "server.crt",
        "server.key",
        "mosquitto.conf",
        "data",
        "mosquitto.log",
    ):
        assert owners[name] == mosquitto, name
    for name in ("ca.key", "relay.toml", "couple-1"):  # mosquitto never needs these
        assert owners[name] == 0, name
    assert relay.stat().st_uid == mosquitto


@pytest.mark.skipif(not IS_ROOT or not _has_user("mosquitto"), reason="needs root and a mosquitto user")
def test_as_root_a_directory_mosquitto_cannot_reach_is_refused(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    result = heartline("broker", "setup", "--out", str(closed / "relay"), "--host", "relay.example.org")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot enter" in result.stderr
    assert not (closed / "relay").exists()


# --- a real mosquitto from the generated files --------------------------------------------


@dataclass(eq=False)
class Hub:
    """A paho client logging in with a login file over TLS, exactly as a hub does."""

    login: RelayLogin
    paho: mqtt.Client = field(init=False)
    messages: queue.Queue[mqtt.MQTTMessage] = field(default_factory=queue.Queue)
    acks: queue.Queue[tuple[int, ReasonCode]] = field(default_factory=queue.Queue)
    subacks: queue.Queue[list[ReasonCode]] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        self.paho = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.login.hub_id, protocol=mqtt.MQTTv5
        )

    def connect(self, port: int, ca_file: Path) -> bool:
        """True once the broker accepted the login (a refused client is stopped again)."""
        connacks: queue.Queue[ReasonCode] = queue.Queue()
        self.paho = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.login.hub_id, protocol=mqtt.MQTTv5
        )
        self.paho.username_pw_set(self.login.hub_id, self.login.password)
        self.paho.tls_set_context(ssl.create_default_context(cafile=str(ca_file)))
        self.paho.on_connect = lambda _c, _u, _f, rc, _p: connacks.put(rc)
        self.paho.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.paho.on_publish = lambda _c, _u, mid, rc, _p: self.acks.put((mid, rc))
        self.paho.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.subacks.put(rcs)
        self.paho.connect("127.0.0.1", port)  # the certificate names 127.0.0.1 too
        self.paho.loop_start()
        rc = connacks.get(timeout=WAIT_S)
        if rc.is_failure:
            self.close()
        return not rc.is_failure

    def subscribe(self, topic: str) -> bool:
        self.paho.subscribe(topic, qos=1)
        return not self.subacks.get(timeout=WAIT_S)[0].is_failure

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        self.paho.publish(topic, payload, qos=1)
        return self.acks.get(timeout=WAIT_S)[1]

    def expect(self, payload: bytes) -> None:
        msg = self.messages.get(timeout=WAIT_S)
        assert msg.payload == payload, (msg.topic, msg.payload)

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def _drain(hub: Hub) -> list[mqtt.MQTTMessage]:
    out = []
    while not hub.messages.empty():
        out.append(hub.messages.get_nowait())
    return out


def _relay_setup(relay: Path, tls_port: int, local_port: int) -> RelaySetup:
    """The paths tests.support.mosquitto's Broker needs, read from what setup wrote."""
    return RelaySetup(
        out_dir=relay,
        config_path=relay / "mosquitto.conf",
        acl_path=relay / "acl",
        password_path=relay / "passwd",
        persistence_dir=relay / "data",
        log_path=relay / "mosquitto.log",
        host="localhost",
        port=local_port,
        tls_port=tls_port,
        ca_cert_path=relay / "ca.crt",
        ca_key_path=relay / "ca.key",
        server_cert_path=relay / "server.crt",
        server_key_path=relay / "server.key",
        couples=(),
        credentials={},
    )


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return int(line.split()[1])


@pytest.mark.slow  # a relay setup and a real mosquitto
def test_two_couples_on_one_relay_stay_apart(mosquitto_binary: Path, base: Path) -> None:
    relay = base / "relay"
    tls_port, local_port = free_ports(2)
    _setup(relay, "--port", str(tls_port), "--local-port", str(local_port), "--bind", "127.0.0.1")
    broker = Broker.from_setup(mosquitto_binary, _relay_setup(relay, tls_port, local_port))
    broker.start()  # exactly as the docs say: mosquitto -c DIR/mosquitto.conf
    hubs: list[Hub] = []
    try:
        if IS_ROOT and _has_user("mosquitto"):
            assert _uid_of(broker.pid) == pwd.getpwnam("mosquitto").pw_uid  # it switched user
        added = heartline("broker", "add-couple", "--out", str(relay))
        assert added.returncode == 0, added.stderr
        os.kill(broker.pid, signal.SIGHUP)  # by its own pid, as add-couple says
        logins = [read_login(relay / f"couple-{n}" / f"hub-{x}.login") for n in (1, 2) for x in ("a", "b")]
        a, b, c, d = (Hub(login) for login in logins)
        hubs = [a, b, c, d]
        for hub in (a, b):
            assert hub.connect(tls_port, relay / "ca.crt")
        for hub in (c, d):  # couple 2's logins work once mosquitto has reloaded
            eventually_sync(functools.partial(hub.connect, tls_port, relay / "ca.crt"), what="the reload")
        for hub in hubs:
            assert hub.subscribe(inbox_topic(hub.login.couple_id, hub.login.hub_id))
        pairs = ((c, a), (d, b), (a, c), (b, d))  # (intruder, hub of the other couple)
        for intruder, victim in pairs:
            # mosquitto may grant the subscription; its ACL then withholds every message.
            intruder.subscribe(inbox_topic(victim.login.couple_id, victim.login.hub_id))
            intruder.subscribe(status_topic(victim.login.couple_id, victim.login.hub_id))
        for intruder, victim in pairs:
            forged = intruder.publish(inbox_topic(victim.login.couple_id, victim.login.hub_id), b"forged")
            assert forged.value == NOT_AUTHORIZED
        for sender, receiver in ((a, b), (b, a), (c, d), (d, c)):
            topic = inbox_topic(receiver.login.couple_id, receiver.login.hub_id)
            assert not sender.publish(topic, f"from {sender.login.hub_id}".encode()).is_failure
            receiver.expect(f"from {sender.login.hub_id}".encode())  # first: nothing forged came before
        # Sent after every message above was acknowledged, so a leak would queue ahead of it.
        for sender, receiver in ((b, a), (a, b), (d, c), (c, d)):
            sender.publish(inbox_topic(receiver.login.couple_id, receiver.login.hub_id), b"sentinel")
            receiver.expect(b"sentinel")
        leaked = [(hub.login.hub_id, msg.topic) for hub in hubs for msg in _drain(hub)]
        assert leaked == []
        assert "owner is not" not in broker.log_text()
    finally:
        try:
            for hub in hubs:
                hub.close()
        finally:
            broker.stop()
