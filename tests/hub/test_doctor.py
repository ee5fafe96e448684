"""`heartline doctor` against real things: mosquitto with TLS, a fake BlueZ on a private bus,
SQLite files, directories; tools it runs (bluetoothctl, timedatectl) stood in by tiny scripts."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.bluez import FakeBlueZ
from hub.broker.certs import generate_ca
from hub.cli.doctor import doctor_cli
from hub.doctor import (
    Status,
    check_adapter,
    check_bluez,
    check_clock,
    check_data_dir,
    check_database,
    run_checks,
)
from hub.store.database import DATABASE_FILE, open_database
from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, Broker


def _config(path: Path, relay: dict[str, Any], data_dir: Path, *, drop: str | None = None) -> Path:
    relay = {
        "hub_id": COUPLE.hubs[0],
        "partner_hub_id": COUPLE.hubs[1],
        "couple_id": COUPLE.couple_id,
        "couple_key": COUPLE_KEY,
        "password": "secret",
        **relay,
    }
    relay.pop(drop or "", None)
    sections = {
        "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(data_dir)},
        "ble": {"transport": "sim:127.0.0.1:9/B8:27:EB:00:00:0A"},
        "relay": relay,
    }
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
            for name, values in sections.items()
        ),
        encoding="utf-8",
    )
    return path


def _tool(tmp_path: Path, name: str, output: str, code: int = 0) -> str:
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\necho '{output}'\nexit {code}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _by_name(checks: list[Any]) -> dict[str, Any]:
    return {check.name: check for check in checks}


def test_tls_broker_verified_with_the_configured_ca(mosquitto_broker: Broker, tmp_path: Path) -> None:
    broker = f"mqtts://{mosquitto_broker.tls_host}:{mosquitto_broker.tls_port}"
    config = _config(
        tmp_path / "hub.toml", {"broker": broker, "ca_file": str(mosquitto_broker.ca_path)}, tmp_path
    )
    checks = _by_name(run_checks(config))
    assert checks["config"].status is Status.PASS
    assert checks["broker"].status is Status.PASS
    assert checks["tls"].status is Status.PASS, checks["tls"]
    assert "verified" in checks["tls"].detail


def test_wrong_ca_fails_with_the_fix(mosquitto_broker: Broker, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(generate_ca("someone else's CA").cert_pem)
    broker = f"mqtts://{mosquitto_broker.tls_host}:{mosquitto_broker.tls_port}"
    config = _config(tmp_path / "hub.toml", {"broker": broker, "ca_file": str(other_ca)}, tmp_path)
    lines: list[str] = []
    code = doctor_cli(config, json_output=False, write=lines.append)
    assert code == 1
    text = "".join(lines)
    assert "FAIL  tls" in text
    assert "certificate verify failed" in text
    assert "fix: set relay.ca_file to the relay's ca.crt" in text


def test_unreachable_broker(tmp_path: Path) -> None:
    from tests.support.mosquitto import free_ports  # noqa: PLC0415

    (port,) = free_ports(1)  # nobody listens there
    config = _config(tmp_path / "hub.toml", {"broker": f"mqtt://127.0.0.1:{port}"}, tmp_path)
    checks = _by_name(run_checks(config))
    assert checks["broker"].status is Status.FAIL
    assert "refused" in checks["broker"].detail.lower()
    assert checks["broker"].fix
    assert checks["tls"].status is Status.SKIP


def test_a_missing_config_key_is_named_and_the_rest_still_runs(tmp_path: Path) -> None:
    config = _config(tmp_path / "hub.toml", {"broker": "mqtt://127.0.0.1:1883"}, tmp_path, drop="password")
    lines: list[str] = []
    assert doctor_cli(config, json_output=True, write=lines.append) == 1
    report = json.loads("".join(lines))
    assert report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["config"]["status"] == "FAIL"
    assert "relay.password: is required" in checks["config"]["detail"]
    assert "relay.password" in checks["config"]["fix"]
    assert checks["broker"]["status"] == "SKIP"
    assert checks["clock"]["status"] in {"PASS", "WARN"}  # independent of the config


def test_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    check = check_data_dir(blocker / "data")
    assert check.status is Status.FAIL
    assert "sudo install -d -o heartline" in check.fix
    assert check_data_dir(tmp_path).status is Status.PASS
    assert check_data_dir(tmp_path / "new").status is Status.PASS  # the hub creates it


def test_database_integrity(tmp_path: Path) -> None:
    assert check_database(tmp_path).status is Status.PASS  # none yet
    open_database(tmp_path).close()
    good = check_database(tmp_path)
    assert good.status is Status.PASS
    assert "integrity ok" in good.detail
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / DATABASE_FILE).write_bytes(b"this is not SQLite" * 100)
    bad = check_database(broken)
    assert bad.status is Status.FAIL
    assert "restore a backup" in bad.fix


def test_bluez_version(tmp_path: Path) -> None:
    assert check_bluez("bluez:hci0", _tool(tmp_path, "new", "bluetoothctl: 5.66")).status is Status.PASS
    old = check_bluez("bluez:hci0", _tool(tmp_path, "old", "bluetoothctl: 5.55"))
    assert old.status is Status.WARN
    assert "5.56" in old.detail
    missing = check_bluez("bluez:hci0", str(tmp_path / "no-such-tool"))
    assert missing.status is Status.FAIL
    assert missing.fix == "sudo apt-get install bluez"
    assert check_bluez("sim:127.0.0.1:9", "whatever").status is Status.SKIP


def test_clock_sync(tmp_path: Path) -> None:
    assert check_clock(_tool(tmp_path, "synced", "yes")).status is Status.PASS
    unsynced = check_clock(_tool(tmp_path, "unsynced", "no"))
    assert unsynced.status is Status.WARN
    assert "set-ntp true" in unsynced.fix
    no_systemd = check_clock(_tool(tmp_path, "nosystemd", "System has not been booted with systemd", 1))
    assert no_systemd.status is Status.WARN


def test_no_system_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    check = check_adapter("bluez:hci0")
    assert check.status is Status.FAIL
    assert "no system bus" in check.detail


async def test_adapter_powered_and_off(fake_bluez: FakeBlueZ) -> None:
    powered = await asyncio.to_thread(check_adapter, "bluez:hci0")
    assert powered.status is Status.PASS, powered
    missing = await asyncio.to_thread(check_adapter, "bluez:hci7")
    assert missing.status is Status.FAIL
    assert "bluetoothctl list" in missing.fix
    fake_bluez.set_powered(False)
    off = await asyncio.to_thread(check_adapter, "bluez:hci0")
    assert off.status is Status.FAIL
    assert "bluetoothctl power on" in off.fix
