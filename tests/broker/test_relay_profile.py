"""The relay profiles of `heartline broker setup --profile`: what each writes into mosquitto.conf,
that the choice survives `add-couple`, and that with the hosted profile (no save per touch) a
broker SIGKILL that wipes its queue still loses no signal: the sender's outbox resends it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.relay_chaos import QUICK, start_relay_broker
from benchmarks.relay_chaos import run as run_chaos
from hub.broker.config import HOSTED_AUTOSAVE_INTERVAL_S, RelayConfigError, RelayProfile
from hub.broker.relay_state import STATE_NAME, read_state
from hub.broker.setup import setup_relay
from hub.events import Fate
from tests.relay.node import RelayNode, node_config
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import eventually


def heartline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _conf(relay: Path, profile: RelayProfile, interval: int | None = None) -> list[str]:
    setup = setup_relay(
        relay,
        host="127.0.0.1",
        port=1883,
        tls_port=None,
        couples=[COUPLE],
        profile=profile,
        autosave_interval_s=interval,
    )
    return setup.config_path.read_text().splitlines()


def test_durable_saves_after_every_change(tmp_path: Path) -> None:
    conf = _conf(tmp_path / "relay", RelayProfile.DURABLE)
    assert "autosave_on_changes true" in conf
    assert "autosave_interval 1" in conf


def test_hosted_saves_on_a_timer(tmp_path: Path) -> None:
    conf = _conf(tmp_path / "relay", RelayProfile.HOSTED)
    assert "persistence true" in conf
    assert "autosave_on_changes false" in conf
    assert f"autosave_interval {HOSTED_AUTOSAVE_INTERVAL_S}" in conf
    assert "autosave_on_changes true" not in conf
    assert "autosave_interval 20" in _conf(tmp_path / "short", RelayProfile.HOSTED, 20)
    with pytest.raises(RelayConfigError, match="at least 1"):
        _conf(tmp_path / "bad", RelayProfile.HOSTED, -5)


def test_an_unknown_profile_is_refused_with_the_choices() -> None:
    with pytest.raises(RelayConfigError, match="use one of durable, hosted"):
        RelayProfile.parse("cloud")


@pytest.fixture
def base() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="heartline-profile-test-") as path:
        Path(path).chmod(0o711)  # mosquitto's own user can walk in when the tests run as root
        yield Path(path)


@pytest.mark.slow  # two relay setups with their certificates
def test_cli_profile_is_kept_by_add_couple(base: Path) -> None:
    relay = base / "relay"
    result = heartline(
        "broker", "setup", "--out", str(relay), "--host", "relay.example.org", "--profile", "hosted"
    )
    assert result.returncode == 0, result.stderr
    assert "profile hosted" in result.stdout
    assert read_state(relay).profile is RelayProfile.HOSTED
    added = heartline("broker", "add-couple", "--out", str(relay))
    assert added.returncode == 0, added.stderr
    assert read_state(relay).profile is RelayProfile.HOSTED
    assert "autosave_on_changes false" in (relay / "mosquitto.conf").read_text().splitlines()
    # A relay written before profiles existed reads as durable; a damaged profile is one line.
    state = relay / STATE_NAME
    state.write_text(state.read_text().replace('profile = "hosted"\n', ""))
    assert read_state(relay).profile is RelayProfile.DURABLE
    state.write_text('profile = "cloud"\n' + state.read_text())
    damaged = heartline("broker", "add-couple", "--out", str(relay))
    assert damaged.returncode == 2
    assert len(damaged.stderr.strip().splitlines()) == 1
    assert "cannot be read" in damaged.stderr


def test_cli_refuses_an_unknown_profile(base: Path) -> None:
    result = heartline("broker", "setup", "--out", str(base / "r"), "--host", "h.example", "--profile", "x")
    assert result.returncode == 2
    assert "--profile" in result.stderr
    assert not (base / "r").exists()


@pytest.fixture
def hosted_broker(mosquitto_binary: Path, tmp_path: Path) -> Iterator[Broker]:
    broker = start_relay_broker(mosquitto_binary, tmp_path / "relay", RelayProfile.HOSTED)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.slow
@pytest.mark.broker
async def test_hosted_broker_crash_loses_its_queue_but_not_the_signal(
    hosted_broker: Broker, tmp_path: Path
) -> None:
    """The partner is offline, the broker acknowledged the signal and is SIGKILLed before its
    next snapshot: the queued copy is gone, the sender's outbox resends it, it arrives once."""
    receiver = RelayNode(node_config(hosted_broker, 1, tmp_path / "b"))
    await receiver.start()  # its persistent session and subscription exist on the broker
    await receiver.stop()
    sender = RelayNode(node_config(hosted_broker, 0, tmp_path / "a"))
    await sender.start()
    try:
        record = sender.send()

        def confirmed() -> bool:
            return sender.relay._outbox.unconfirmed() == 0  # the broker PUBACKed it

        await eventually(confirmed, what="the broker's PUBACK")
        hosted_broker.kill()  # no save: the hosted profile lost the session and its queue
        hosted_broker.start()
        receiver = receiver.reborn()
        await receiver.start()
        try:

            def delivered() -> bool:
                return {s.id: s.fate for s in sender.sent()}.get(record.id) is Fate.DELIVERED

            await eventually(delivered, within_s=60, what="the resent signal's receipt")
            assert receiver.person.shown == [record.id]
            assert sender.relay.outbox_depth == 0
        finally:
            await receiver.stop()
    finally:
        await sender.stop()


@pytest.mark.slow
@pytest.mark.broker
def test_quick_chaos_on_the_hosted_profile_loses_nothing() -> None:
    tally, report = run_chaos(QUICK, seed=11, profile=RelayProfile.HOSTED)
    assert tally.settled, report
    assert "goal: zero lost, zero duplicates shown -> met" in report, report
    assert sum(len(ids) for ids in tally.sent) == 2 * QUICK.signals
