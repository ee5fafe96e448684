"""Start failures through the real processes: `heartline config check` lists every problem of a
config (ranges too: ports 1-65535, finite positive timeouts), `heartline hub` refuses it in one
line saying how many more there are, and a damaged or newer database is refused in one line and
left exactly as it was."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_sim.air.server import AirServer
from hub.store.database import DATABASE_FILE, open_database
from hub.store.meta import MetaStore
from hub.store.schema import SCHEMA_VERSION
from tests.support.failed_start import EXIT_RUNTIME, EXIT_USAGE, one_line_failure, run_hub, write_start_config
from tests.support.mosquitto import free_ports
from tests.support.waiting import START_S

pytestmark = pytest.mark.slow  # a Python process per case

HUB_RADIO = "B8:27:EB:00:00:0A"  # the radio tests.e2e.test_start_failures configures
PROBLEMS = {
    "relay.broker": ("mqtt://127.0.0.1:9", "mqtt://127.0.0.1:99999", "has an invalid port"),
    "delivery.button_confirm_timeout_s": (None, "nan", "must be a finite number, not nan"),
    "delivery.felt_it_window_s": (None, "inf", "must be a finite number, not inf"),
    "web.port": (None, "0", "must be a TCP port between 1 and 65535"),
    "web.colour": (None, '"blue"', "unknown key"),
}


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the exit status is what is checked
        [sys.executable, "-m", "hub.cli", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=START_S,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def wrong_config(tmp_path: Path) -> Path:
    (web_port,) = free_ports(1)
    path = write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)
    text = path.read_text(encoding="utf-8").replace(f"port = {web_port}", "port = 0")
    text = text.replace('"mqtt://127.0.0.1:9"', '"mqtt://127.0.0.1:99999"')
    text += 'colour = "blue"\n[delivery]\nbutton_confirm_timeout_s = nan\nfelt_it_window_s = inf\n'
    path.write_text(text, encoding="utf-8")
    return path


def test_config_check_reports_every_problem(wrong_config: Path) -> None:
    result = _check(wrong_config)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    *lines, last = result.stderr.strip().splitlines()
    assert last == f"heartline: {wrong_config}: {len(PROBLEMS)} problems; fix each line above and check again"
    assert len(lines) == len(PROBLEMS)
    for key, (_, _, problem) in PROBLEMS.items():
        assert any(line.startswith(f"{wrong_config}: {key}: {problem}") for line in lines), (key, lines)


def test_the_hub_refuses_it_in_one_line_counting_the_rest(wrong_config: Path) -> None:
    line = one_line_failure(run_hub(wrong_config), EXIT_USAGE, str(wrong_config))
    assert line.endswith(
        f"(and {len(PROBLEMS) - 1} more: `heartline config check {wrong_config}` lists every one)"
    )


@pytest.mark.parametrize("damage", ["directory", "latin-1"])
def test_config_check_on_a_directory_or_non_utf8_file_isone_line_failure(tmp_path: Path, damage: str) -> None:
    path = tmp_path
    if damage == "latin-1":
        path = tmp_path / "hub.toml"
        path.write_bytes('[hub]\nperson = "Zoë"\n'.encode("latin-1"))
    result = _check(path)
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"heartline: {path}: -: ")
    assert ("is a directory" if damage == "directory" else "is not UTF-8 text") in line


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _a_real_database(data: Path) -> Path:
    db = open_database(data)
    with db.transaction():
        for index in range(400):  # a few pages, so damage lands in a table, not the header
            MetaStore(db).put(f"row-{index}", "memories " * 20)
    db.close()
    return data / DATABASE_FILE


def test_a_damaged_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (web_port,) = free_ports(1)
    config = write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)
    path = _a_real_database(tmp_path / "data")
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[page * 3 : page * 3 + 64] = b"\xa5" * 64  # a table page overwritten, as a bad SD card does
    path.write_bytes(bytes(raw))
    before = _digest(path)
    line = one_line_failure(
        run_hub(config), EXIT_RUNTIME, str(path), "left untouched", "restore a backup", "start fresh"
    )
    assert "integrity" in line or "not a readable database" in line
    assert _digest(path) == before


def test_a_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (web_port,) = free_ports(1)
    config = write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / DATABASE_FILE
    # As a newer Heartline might leave it: its own tables, a rollback journal rather than WAL
    # (so even switching the journal mode would rewrite its header).
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (memory TEXT)")
        db.execute("INSERT INTO future VALUES ('the first evening')")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = _digest(path)
    one_line_failure(
        run_hub(config),
        EXIT_RUNTIME,
        "written by a newer Heartline",
        "left untouched",
        "upgrade Heartline",
        "start fresh",
    )
    assert _digest(path) == before


async def _hub_on_an_air(config: Path, **relay: str) -> subprocess.CompletedProcess[str]:
    """``heartline hub`` with a simulated air to join, so it gets past Bluetooth to the relay."""
    air = AirServer()
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air:
        _join(config, air.port, relay)
        return await asyncio.to_thread(run_hub, config)


def _join(config: Path, air_port: int, relay: dict[str, str]) -> None:
    text = config.read_text(encoding="utf-8").replace("sim:127.0.0.1:9/", f"sim:127.0.0.1:{air_port}/")
    for key, value in relay.items():
        text = text.replace("[relay]\n", f"[relay]\n{key} = {value}\n")
    config.write_text(text.replace('"mqtt://127.0.0.1:9"', '"mqtts://127.0.0.1:9"'), encoding="utf-8")


async def test_a_ca_file_that_is_no_certificate_isone_line_failure(tmp_path: Path) -> None:
    (web_port,) = free_ports(1)
    config = write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)
    ca = tmp_path / "ca.crt"
    ca.write_text("this is the relay's login file, not its certificate\n", encoding="utf-8")
    result = await _hub_on_an_air(config, ca_file=f'"{ca}"')
    one_line_failure(
        result,
        EXIT_USAGE,
        "relay.ca_file",
        str(ca),
        "is not a readable CA certificate",
        "copy the relay's ca.crt",
    )


async def test_a_data_dir_file_the_hub_cannot_read_isone_line_failure(tmp_path: Path) -> None:
    (web_port,) = free_ports(1)
    config = write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)
    (tmp_path / "data" / "couple_link.json").mkdir(parents=True)  # where `couple join` leaves a file
    result = await _hub_on_an_air(config)
    # The couple link is the joined hub's key to its partner: unreadable, only a new join mends it
    # (exit 2, so systemd does not retry what a restart cannot fix).
    one_line_failure(
        result, EXIT_USAGE, str(tmp_path / "data" / "couple_link.json"), "unreadable", "couple join"
    )
