"""``heartline doctor``: check what a hub on a Pi needs, each failure with its fix in one line.

Every check is independent, bounded in time, and read-only (the database is opened read-only;
the broker check stops after the TLS handshake, so it never takes over the hub's MQTT session).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from hub.config import HubConfig, load_config
from hub.errors import ConfigError
from hub.store.database import DATABASE_FILE, check_file
from hub.store.schema import SCHEMA_VERSION

# bleak needs BlueZ 5.43+; passive scanning (AdvertisementMonitor, no scan requests to the
# buttons, less airtime) needs 5.56. Bookworm ships 5.66.
BLUEZ_MIN: Final = (5, 43)
BLUEZ_PASSIVE: Final = (5, 56)
COMMAND_TIMEOUT_S: Final = 5.0
DBUS_TIMEOUT_S: Final = 5.0
BROKER_TIMEOUT_S: Final = 5.0
DEFAULT_SYSTEM_BUS: Final = "unix:path=/run/dbus/system_bus_socket"
SYSTEM_BUS_ENV: Final = "DBUS_SYSTEM_BUS_ADDRESS"
MB: Final = 1024 * 1024
# The store grows by kilobytes a day; below these, SQLite's WAL checkpoints start failing soon.
DISK_WARN_BYTES: Final = 200 * MB
DISK_FAIL_BYTES: Final = 20 * MB
DEFAULT_MQTTS_PORT: Final = 8883
DEFAULT_MQTT_PORT: Final = 1883
_VERSION_RE: Final = re.compile(r"(\d+)\.(\d+)")


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a check outcome, not a password
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def run_checks(config_path: Path) -> list[Check]:
    config: HubConfig | None = None
    try:
        config = load_config(config_path)
        checks = [Check("config", Status.PASS, f"{config_path} is valid ({len(config.buttons)} buttons)")]
    except ConfigError as ex:
        config = None
        checks = [Check("config", Status.FAIL, str(ex), f"fix {ex.key} in {config_path}")]
    transport = config.ble.transport if config else "bluez:hci0"
    checks += [check_bluez(transport), check_adapter(transport), check_clock()]
    if config is None:
        skipped = "needs a valid config"
        checks += [
            Check(name, Status.SKIP, skipped) for name in ("broker", "tls", "disk", "data_dir", "database")
        ]
        return checks
    checks += check_broker(config)
    data_dir = config.hub.data_dir
    checks += [check_disk(data_dir), check_data_dir(data_dir), check_database(data_dir)]
    return checks


# -- Bluetooth ----------------------------------------------------------------------------


def _simulated(transport: str) -> bool:
    return not transport.startswith("bluez:")


def check_bluez(transport: str, command: str = "bluetoothctl") -> Check:  # noqa: PLR0911 - one per outcome
    if _simulated(transport):
        return Check("bluez", Status.SKIP, f"not used (ble.transport = {transport})")
    fix_install = "sudo apt-get install bluez"
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [command, "--version"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        return Check("bluez", Status.FAIL, f"{command} not found: BlueZ is not installed", fix_install)
    except subprocess.TimeoutExpired:
        return Check(
            "bluez", Status.FAIL, f"{command} --version did not answer", "sudo systemctl restart bluetooth"
        )
    match = _VERSION_RE.search(result.stdout + result.stderr)
    if match is None:
        return Check(
            "bluez", Status.WARN, f"cannot read the BlueZ version from {result.stdout.strip()!r}", ""
        )
    version = (int(match[1]), int(match[2]))
    text = f"BlueZ {version[0]}.{version[1]}"
    if version < BLUEZ_MIN:
        return Check(
            "bluez", Status.FAIL, f"{text} is too old for bleak", "upgrade to Raspberry Pi OS Bookworm"
        )
    if version < BLUEZ_PASSIVE:
        return Check(
            "bluez",
            Status.WARN,
            f"{text}: no passive scanning (needs 5.56)",
            "upgrade to Raspberry Pi OS Bookworm (BlueZ 5.66)",
        )
    return Check("bluez", Status.PASS, text)


def check_adapter(transport: str) -> Check:
    if _simulated(transport):
        return Check("adapter", Status.SKIP, f"not used (ble.transport = {transport})")
    adapter = transport.partition(":")[2] or "hci0"
    address = os.environ.get(SYSTEM_BUS_ENV, DEFAULT_SYSTEM_BUS)
    path = _unix_path(address)
    if path is not None and not Path(path).exists():
        return Check(
            "adapter",
            Status.FAIL,
            f"no system bus at {path}: cannot ask BlueZ about {adapter}",
            "sudo systemctl start dbus bluetooth (on a Pi; containers have no system bus)",
        )
    try:
        return asyncio.run(_adapter_powered(adapter))
    except (OSError, TimeoutError, ValueError) as ex:
        return Check(
            "adapter", Status.FAIL, f"cannot reach the system bus ({ex})", "sudo systemctl start dbus"
        )


def _unix_path(address: str) -> str | None:
    for part in address.split(";", maxsplit=1)[0].split(":", 1)[-1].split(","):
        key, _, value = part.partition("=")
        if key == "path":
            return value
    return None


async def _adapter_powered(adapter: str) -> Check:
    from dbus_fast import BusType, Message, MessageType  # noqa: PLC0415 - Linux only
    from dbus_fast.aio import MessageBus  # noqa: PLC0415

    bus = await asyncio.wait_for(MessageBus(bus_type=BusType.SYSTEM).connect(), DBUS_TIMEOUT_S)
    try:
        reply = await asyncio.wait_for(
            bus.call(
                Message(
                    destination="org.bluez",
                    path=f"/org/bluez/{adapter}",
                    interface="org.freedesktop.DBus.Properties",
                    member="Get",
                    signature="ss",
                    body=["org.bluez.Adapter1", "Powered"],
                )
            ),
            DBUS_TIMEOUT_S,
        )
    finally:
        bus.disconnect()
    if reply is None or reply.message_type == MessageType.ERROR:
        error = reply.error_name if reply is not None else "no reply"
        if error in {
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        }:
            return Check(
                "adapter", Status.FAIL, "bluetoothd is not running", "sudo systemctl enable --now bluetooth"
            )
        return Check(
            "adapter",
            Status.FAIL,
            f"no adapter {adapter} ({error})",
            "check `bluetoothctl list`; on a Pi remove dtoverlay=disable-bt from /boot/firmware/config.txt",
        )
    if not reply.body[0].value:
        return Check(
            "adapter",
            Status.FAIL,
            f"{adapter} is powered off",
            f"rfkill unblock bluetooth && bluetoothctl power on (for {adapter})",
        )
    return Check("adapter", Status.PASS, f"{adapter} present and powered")


# -- the relay broker -----------------------------------------------------------------------


def check_broker(config: HubConfig) -> list[Check]:
    url = urlsplit(config.relay.broker)
    host = url.hostname or "127.0.0.1"
    tls = url.scheme == "mqtts"
    port = url.port or (DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT)
    where = f"{host}:{port}"
    try:
        raw = socket.create_connection((host, port), timeout=BROKER_TIMEOUT_S)
    except OSError as ex:
        reason = ex.strerror or str(ex) or type(ex).__name__
        return [
            Check(
                "broker",
                Status.FAIL,
                f"cannot connect to {where}: {reason}",
                "check relay.broker, the network, and that the broker runs (port open in its firewall)",
            ),
            Check("tls", Status.SKIP, "needs the broker to be reachable"),
        ]
    with raw:
        reached = Check("broker", Status.PASS, f"{where} reachable")
        if not tls:
            return [reached, Check("tls", Status.SKIP, "plaintext MQTT (allowed on loopback only)")]
        return [reached, _tls_handshake(raw, host, config.relay.ca_file)]


def _tls_handshake(raw: socket.socket, host: str, ca_file: Path | None) -> Check:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    ca = str(ca_file) if ca_file else "the system CAs"
    try:
        with context.wrap_socket(raw, server_hostname=host) as secure:
            return Check("tls", Status.PASS, f"{secure.version()} certificate for {host} verified with {ca}")
    except ssl.SSLCertVerificationError as ex:
        return Check(
            "tls",
            Status.FAIL,
            f"certificate verify failed: {ex.verify_message}",
            "set relay.ca_file to the relay's ca.crt; use the exact --host given to `heartline broker setup`",
        )
    except (ssl.SSLError, OSError) as ex:
        return Check(
            "tls",
            Status.FAIL,
            f"TLS handshake failed: {ex}",
            "check that relay.broker names the broker's TLS port",
        )


# -- the Pi itself ------------------------------------------------------------------------


def check_clock(command: str = "timedatectl") -> Check:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [command, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return Check(
            "clock", Status.WARN, f"cannot tell whether the clock is synchronised ({command} missing)"
        )
    answer = result.stdout.strip()
    if result.returncode != 0 or answer not in {"yes", "no"}:
        detail = (result.stderr.strip() or answer or "no answer").splitlines()[0]
        return Check(
            "clock",
            Status.WARN,
            f"cannot tell whether the clock is synchronised: {detail}",
            "on a Pi: sudo timedatectl set-ntp true",
        )
    if answer == "no":
        return Check(
            "clock",
            Status.WARN,
            "clock not synchronised (TLS and quiet hours need the right time)",
            "sudo timedatectl set-ntp true; check `timedatectl timesync-status`",
        )
    return Check("clock", Status.PASS, "synchronised (NTP)")


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def check_disk(data_dir: Path) -> Check:
    where = _existing(data_dir)
    try:
        free = shutil.disk_usage(where).free
    except OSError as ex:
        return Check(
            "disk", Status.FAIL, f"cannot read free space of {where}: {ex.strerror}", "check the mount"
        )
    text = f"{free / MB:.0f} MB free for {data_dir}"
    fix = "free space: sudo apt-get clean; sudo journalctl --vacuum-size=50M"
    if free < DISK_FAIL_BYTES:
        return Check("disk", Status.FAIL, text, fix)
    if free < DISK_WARN_BYTES:
        return Check("disk", Status.WARN, text, fix)
    return Check("disk", Status.PASS, text)


def check_data_dir(data_dir: Path) -> Check:
    target = data_dir if data_dir.exists() else _existing(data_dir)
    fix = f"sudo install -d -o heartline -g heartline -m 700 {data_dir}"
    if not target.is_dir():
        return Check("data_dir", Status.FAIL, f"{target} is not a directory", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".doctor-"):
            pass
    except OSError as ex:
        return Check("data_dir", Status.FAIL, f"{target} is not writable: {ex.strerror}", fix)
    if target != data_dir:
        return Check(
            "data_dir", Status.PASS, f"{data_dir} does not exist yet; {target} lets the hub create it"
        )
    return Check("data_dir", Status.PASS, f"{data_dir} is writable")


def check_database(data_dir: Path) -> Check:
    path = data_dir / DATABASE_FILE
    if not path.exists():
        return Check("database", Status.PASS, f"none yet at {path} (created at first start)")
    try:
        health = check_file(path)
    except sqlite3.Error as ex:
        return Check(
            "database",
            Status.FAIL,
            f"{path} cannot be read: {ex}",
            "stop the hub, move the file aside and restore a backup (or start fresh and re-pair buttons)",
        )
    if health.integrity != "ok":
        return Check(
            "database",
            Status.FAIL,
            f"{path} failed its integrity check: {health.integrity}",
            "stop the hub, move the file aside and restore a backup",
        )
    if health.schema_version > SCHEMA_VERSION:
        return Check(
            "database",
            Status.FAIL,
            f"schema {health.schema_version} is newer than this Heartline's",
            "upgrade Heartline",
        )
    return Check("database", Status.PASS, f"integrity ok, schema {health.schema_version}")


# -- verdict ------------------------------------------------------------------------------


def exit_code(checks: list[Check]) -> int:
    return 1 if any(check.status is Status.FAIL for check in checks) else 0
