"""`heartline hub` that cannot start says so in one line: what, and how to fix it.

Each case runs the real process (``python -m hub.cli hub --config FILE``) and checks its exit
status (2: the command line or config is wrong; 1: a failure while starting), that the last
line on stderr is the one ``heartline:`` line naming the thing and the fix, and that no
traceback is printed unless ``-v`` asks for one.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from hub.store.database import DATABASE_FILE
from hub.store.schema import SCHEMA_VERSION
from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, LOOPBACK, free_ports
from tests.support.waiting import START_S

pytestmark = pytest.mark.slow  # a Python process per case

EXIT_USAGE: Final = 2
EXIT_RUNTIME: Final = 1
# Linux capabilities a root test process drops in the child, so file permissions apply to it.
_PR_CAPBSET_DROP: Final = 24
_CAP_DAC_OVERRIDE: Final = 1
_CAP_DAC_READ_SEARCH: Final = 2


def _write_config(path: Path, data_dir: Path, web_port: int) -> Path:
    hub_id, partner_id = COUPLE.hubs
    sections: dict[str, dict[str, Any]] = {
        "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(data_dir)},
        "ble": {"transport": "sim:127.0.0.1:9/B8:27:EB:00:00:0A"},
        "relay": {
            # Never reached: every case fails before the relay starts.
            "broker": "mqtt://127.0.0.1:9",
            "hub_id": hub_id,
            "partner_hub_id": partner_id,
            "couple_id": COUPLE.couple_id,
            "couple_key": COUPLE_KEY,
            "password": "unused",
        },
        "web": {"listen": LOOPBACK, "port": web_port},
    }
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
            for name, values in sections.items()
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (web_port,) = free_ports(1)
    return _write_config(tmp_path / "hub.toml", tmp_path / "data", web_port)


def _without_root_file_access() -> Callable[[], None] | None:
    """For a root test process: the child loses the capabilities that ignore file modes."""
    if os.geteuid() != 0:
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop() -> None:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def _hub(config: Path, *options: str, as_plain_user: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the exit status is what is checked
        [sys.executable, "-m", "hub.cli", *options, "hub", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=START_S,
        stdin=subprocess.DEVNULL,
        preexec_fn=_without_root_file_access() if as_plain_user else None,
    )


def _one_line(result: subprocess.CompletedProcess[str], status: int, *needles: str) -> str:
    """The failure is the last line, the only `heartline:` one, with no traceback; returns it."""
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, "nothing on stderr"
    last = lines[-1]
    assert [line for line in lines if line.startswith("heartline: ")] == [last], result.stderr
    for needle in needles:
        assert needle in last, last
    return last


def test_a_web_port_in_use_is_one_line(config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        _write_config(config, tmp_path / "data", port)
        line = _one_line(_hub(config), EXIT_RUNTIME)
    assert line == (
        f"heartline: web.port: 127.0.0.1:{port} is already in use; stop the program using it "
        f"(`ss -ltnp 'sport = :{port}'` names it) or set web.port to a free port"
    )
    assert not (tmp_path / "data").exists()  # checked before the hub started anything


def test_verbose_adds_the_traceback_before_the_same_line(config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        _write_config(config, tmp_path / "data", taken.getsockname()[1])
        result = _hub(config, "-v")
    assert result.returncode == EXIT_RUNTIME
    assert "Traceback" in result.stderr
    assert "is already in use" in result.stderr.strip().splitlines()[-1]


def test_a_missing_config(tmp_path: Path) -> None:
    _one_line(
        _hub(tmp_path / "nowhere.toml"), EXIT_USAGE, "nowhere.toml", "file not found", "heartline setup"
    )


def test_a_config_that_is_a_directory(tmp_path: Path) -> None:
    _one_line(_hub(tmp_path), EXIT_USAGE, str(tmp_path), "is a directory", "pass the path of the hub's .toml")


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_bytes('[hub]\nperson = "Zoë"\n'.encode("latin-1"))
    _one_line(_hub(config), EXIT_USAGE, "hub.toml", "is not UTF-8 text", "save it as UTF-8")


def test_a_config_the_hub_may_not_read(config: Path) -> None:
    config.chmod(0o000)
    _one_line(
        _hub(config, as_plain_user=True),
        EXIT_USAGE,
        "hub.toml",
        "permission denied",
        "make it readable by the user the hub runs as",
    )


def test_a_damaged_database(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DATABASE_FILE).write_bytes(b"this is no database, it is a shopping list\n" * 200)
    _one_line(
        _hub(config),
        EXIT_RUNTIME,
        str(data / DATABASE_FILE),
        "is not a readable database",
        "restore a backup",
    )


def test_a_database_from_a_newer_heartline(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / DATABASE_FILE) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    _one_line(_hub(config), EXIT_RUNTIME, "written by a newer Heartline", "upgrade Heartline")


def test_a_data_dir_the_hub_may_not_write(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o500)
    data.chmod(0o500)
    _one_line(
        _hub(config, as_plain_user=True),
        EXIT_RUNTIME,
        str(data),
        "Permission denied",
        "or set hub.data_dir to a writable directory",
    )


def test_a_data_dir_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    (web_port,) = free_ports(1)
    config = _write_config(tmp_path / "hub.toml", blocker / "data", web_port)
    _one_line(_hub(config), EXIT_RUNTIME, "cannot create the data directory", "set hub.data_dir")
