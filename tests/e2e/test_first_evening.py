"""The first evening as a newcomer lives it, every step a real `heartline` command: a relay, the
first hub's config from its login file, an invite, the partner's config from the code. Both
configs pass `config check`; the slow test starts mosquitto from the generated relay and two real
hubs from the written configs and sees both connect over TLS."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.server import AirServer
from hub.broker.setup import RelaySetup
from hub.config import load_config
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import START_S, eventually_async


def heartline(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def ok(*args: str, cwd: Path | None = None) -> str:
    result = heartline(*args, cwd=cwd)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


@pytest.fixture
def evening() -> Iterator[Path]:
    """A directory tree mosquitto's own user can enter (pytest's tmp dirs are root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="heartline-evening-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path)


@dataclass(frozen=True, slots=True)
class Homes:
    relay: Path
    alex: Path  # the first hub's hub.toml
    sam: Path  # the partner's
    tls_port: int
    local_port: int


def _first_evening(root: Path, *, air_port: int = 7000, web_ports: tuple[int, int] = (8080, 8081)) -> Homes:
    tls_port, local_port = free_ports(2)
    relay = root / "relay"
    ok(
        "broker", "setup", "--out", str(relay), "--host", "localhost",
        "--port", str(tls_port), "--local-port", str(local_port), "--bind", "127.0.0.1",
    )  # fmt: skip
    alex_home, sam_home = root / "alex", root / "sam"
    alex_home.mkdir()
    sam_home.mkdir()
    shutil.copy(relay / "couple-1" / "hub-a.login", alex_home)
    shutil.copy(relay / "couple-1" / "hub-b.login", alex_home)  # the inviting hub holds both logins
    printed = ok(
        "setup", "--yes", "--relay-login", "hub-a.login", "--person", 'Alex "A" 💕', "--partner", "Sam",
        "--config", str(alex_home / "hub.toml"), "--data-dir", str(alex_home / "data"),
        "--transport", f"sim:127.0.0.1:{air_port}/alex", "--web-port", str(web_ports[0]),
        cwd=alex_home,
    )  # fmt: skip
    next_step = next(line.strip() for line in printed.splitlines() if "couple invite" in line)
    argv = shlex.split(next_step)
    assert argv[:3] == ["heartline", "couple", "invite"]
    invite = ok(*argv[1:], cwd=alex_home)  # exactly the next step setup printed
    assert (alex_home / "invite.txt").stat().st_mode & 0o077 == 0
    join_line = next(
        line.strip() for line in invite.splitlines() if line.strip().startswith("heartline couple join HL2-")
    )
    shutil.copy(alex_home / "invite.txt", sam_home)
    assert "heartline couple join @invite.txt" in invite
    # The printed command, with only where this test keeps the partner's files added.
    ok(
        *shlex.split(join_line)[1:], "--yes", "--config", str(sam_home / "hub.toml"),
        "--data-dir", str(sam_home / "data"), "--transport", f"sim:127.0.0.1:{air_port}/sam",
        "--web-port", str(web_ports[1]),
        cwd=sam_home,
    )  # fmt: skip
    return Homes(relay, alex_home / "hub.toml", sam_home / "hub.toml", tls_port, local_port)


@pytest.mark.slow  # real heartline commands, one after another
def test_two_configs_from_commands_alone(evening: Path) -> None:
    homes = _first_evening(evening)
    for path in (homes.alex, homes.sam):
        assert "ok" in ok("config", "check", str(path))
        assert path.stat().st_mode & 0o077 == 0
        assert (path.parent / "relay-ca.crt").read_text() == (homes.relay / "ca.crt").read_text()
    alex, sam = load_config(homes.alex), load_config(homes.sam)
    assert (alex.hub.person, alex.hub.partner) == ('Alex "A" 💕', "Sam")
    assert (sam.hub.person, sam.hub.partner) == ("Sam", 'Alex "A" 💕')  # the invite's names
    assert alex.relay.couple_key == sam.relay.couple_key
    assert (alex.relay.hub_id, alex.relay.partner_hub_id) == (sam.relay.partner_hub_id, sam.relay.hub_id)
    assert sam.relay.ca_file == homes.sam.parent / "relay-ca.crt"
    assert sam.hub.timezone == alex.hub.timezone  # both detected on this machine


@pytest.mark.slow  # real heartline commands, one after another
def test_join_from_a_code_file_and_a_second_couple(evening: Path) -> None:
    _first_evening(evening)
    relay = evening / "relay"
    ok("broker", "add-couple", "--out", str(relay))
    home = evening / "kim"
    home.mkdir()
    ok(
        "setup", "--yes", "--relay-login", str(relay / "couple-2" / "hub-a.login"), "--person", "Kim",
        "--partner", "Lee", "--config", str(home / "hub.toml"), "--data-dir", str(home / "data"),
    )  # fmt: skip
    ok(
        "couple", "invite", "--config", str(home / "hub.toml"),
        "--partner-login", str(relay / "couple-2" / "hub-b.login"), "--out", str(home / "code.txt"),
    )  # fmt: skip
    partner = evening / "lee"
    ok("couple", "join", f"@{home / 'code.txt'}", "--yes", "--config", str(partner / "hub.toml"),
       "--data-dir", str(partner / "data"))  # fmt: skip
    lee = load_config(partner / "hub.toml")
    assert (lee.hub.person, lee.hub.partner) == ("Lee", "Kim")
    assert lee.relay.couple_id != load_config(evening / "alex" / "hub.toml").relay.couple_id


@pytest.mark.slow  # real heartline commands, one after another
def test_the_wrong_login_and_missing_answers_are_one_line(evening: Path) -> None:
    homes = _first_evening(evening)
    own_login = homes.alex.parent / "hub-a.login"
    wrong = heartline("couple", "invite", "--config", str(homes.alex), "--partner-login", str(own_login))
    assert wrong.returncode == 2
    assert wrong.stderr.count("\n") == 1
    assert "partner hub's login" in wrong.stderr
    no_tty = heartline("couple", "invite", "--config", str(homes.alex))
    assert no_tty.returncode == 2
    assert no_tty.stderr.count("\n") == 1
    assert "--partner-login" in no_tty.stderr
    missing = heartline(
        "setup", "--yes", "--relay-login", str(own_login), "--config", str(evening / "x.toml")
    )
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "--person" in missing.stderr
    again = heartline(
        "setup", "--yes", "--relay-login", str(own_login), "--person", "A", "--partner", "B",
        "--config", str(homes.alex), "--data-dir", str(evening / "d"),
    )  # fmt: skip
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert again.stderr.count("\n") == 1


# --- the two hubs, running ---------------------------------------------------------------------


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer()
    async with server:
        yield server


def _relay_setup(relay: Path, homes: Homes) -> RelaySetup:
    return RelaySetup(
        out_dir=relay,
        config_path=relay / "mosquitto.conf",
        acl_path=relay / "acl",
        password_path=relay / "passwd",
        persistence_dir=relay / "data",
        log_path=relay / "mosquitto.log",
        host="localhost",
        port=homes.local_port,
        tls_port=homes.tls_port,
        ca_cert_path=relay / "ca.crt",
        ca_key_path=relay / "ca.key",
        server_cert_path=relay / "server.crt",
        server_key_path=relay / "server.key",
        couples=(),
        credentials={},
    )


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_both_hubs_connect_through_the_relay(
    mosquitto_binary: Path, evening: Path, air: AirServer
) -> None:
    web_ports = (free_ports(1)[0], free_ports(1)[0])
    homes = _first_evening(evening, air_port=air.port, web_ports=web_ports)
    broker = Broker.from_setup(mosquitto_binary, _relay_setup(homes.relay, homes))
    broker.start()  # as the docs say: mosquitto -c DIR/mosquitto.conf
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for config in (homes.alex, homes.sam):
            log = (config.parent / "hub.log").open("wb")
            processes.append(
                subprocess.Popen(  # noqa: ASYNC220 - started once; the waits below are bounded
                    [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            )
            log.close()
        async with httpx.AsyncClient() as client:
            for port, config in zip(web_ports, (homes.alex, homes.sam), strict=True):

                async def connected(port: int = port) -> dict[str, Any] | None:
                    try:
                        body: dict[str, Any] = (
                            await client.get(f"http://127.0.0.1:{port}/api/health")
                        ).json()
                    except httpx.TransportError:
                        return None
                    return body if str(body.get("relay", "")).startswith("connected") else None

                await eventually_async(
                    connected, within_s=START_S, what=f"{config} to report relay connected"
                )
    finally:
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        broker.stop()
