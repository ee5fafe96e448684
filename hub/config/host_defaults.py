"""What this machine suggests for a new hub.toml: its time zone, its Bluetooth adapter, and where
a hub's files go (system paths for root, per-user ones otherwise)."""

from __future__ import annotations

import contextlib
import os
import zoneinfo
from pathlib import Path
from typing import Final

from hub.config.schema import DEFAULT_TIMEZONE

SYSTEM_CONFIG: Final = Path("/etc/heartline/hub.toml")
SYSTEM_DATA_DIR: Final = Path("/var/lib/heartline")
USER_CONFIG: Final = Path("hub.toml")  # in the working directory, where the person can see it
DEFAULT_BLE_TRANSPORT: Final = "bluez:hci0"
# The relay's CA certificate is written beside the hub.toml that names it.
CA_FILE_NAME: Final = "relay-ca.crt"

_ZONEINFO_MARKER: Final = "zoneinfo/"


def is_root() -> bool:
    return os.geteuid() == 0


def default_config_path() -> Path:
    return SYSTEM_CONFIG if is_root() else USER_CONFIG


def default_data_dir() -> Path:
    if is_root():
        return SYSTEM_DATA_DIR
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "heartline"


def _known(name: str) -> str | None:
    name = name.strip().removeprefix(":")  # TZ=":Europe/Berlin" is also glibc's syntax
    if not name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    return name


def detect_timezone(etc: Path = Path("/etc")) -> str:
    """The IANA name of this machine's zone: TZ, /etc/timezone, the /etc/localtime link; UTC if none."""
    candidates: list[str] = [os.environ.get("TZ", "")]
    with contextlib.suppress(OSError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8"))
    try:
        target = str((etc / "localtime").readlink())
    except OSError:
        pass
    else:
        if _ZONEINFO_MARKER in target:
            candidates.append(target.rsplit(_ZONEINFO_MARKER, 1)[1])
    for candidate in candidates:
        name = _known(candidate)
        if name is not None:
            return name
    return DEFAULT_TIMEZONE


def detect_ble_transport(sysfs: Path = Path("/sys/class/bluetooth")) -> str:
    """``bluez:`` and the first adapter the kernel lists (hci0 when none is seen yet)."""
    try:
        adapters = sorted(p.name for p in sysfs.iterdir() if p.name.startswith("hci") and ":" not in p.name)
    except OSError:
        adapters = []
    return f"bluez:{adapters[0]}" if adapters else DEFAULT_BLE_TRANSPORT
