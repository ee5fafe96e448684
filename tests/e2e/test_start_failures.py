"""`heartline hub` that cannot start says so in one line: what, and how to fix it.

Each case runs the real process (``python -m hub.cli hub --config FILE``) and checks its exit
status (2: the command line or config is wrong; 1: a failure while starting), that the last
line on stderr is the one ``heartline:`` line naming the thing and the fix, and that no
traceback is printed unless ``-v`` asks for one.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from hub.store.database import DATABASE_FILE
from hub.store.schema import SCHEMA_VERSION
from tests.support.failed_start import EXIT_RUNTIME, EXIT_USAGE, one_line_failure, run_hub, write_start_config
from tests.support.mosquitto import LOOPBACK, free_ports

pytestmark = pytest.mark.slow  # a Python process per case


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (web_port,) = free_ports(1)
    return write_start_config(tmp_path / "hub.toml", tmp_path / "data", web_port)


def test_a_web_port_in_use_isone_line_failure(config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        write_start_config(config, tmp_path / "data", port)
        line = one_line_failure(run_hub(config), EXIT_RUNTIME)
    assert line == (
        f"heartline: web.port: 127.0.0.1:{port} is already in use; stop the program using it "
        f"(`ss -ltnp 'sport = :{port}'` names it) or set web.port to a free port"
    )
    assert not (tmp_path / "data").exists()  # checked before the hub started anything


def test_verbose_adds_the_traceback_before_the_same_line(config: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        write_start_config(config, tmp_path / "data", taken.getsockname()[1])
        result = run_hub(config, "-v")
    assert result.returncode == EXIT_RUNTIME
    assert "Traceback" in result.stderr
    assert "is already in use" in result.stderr.strip().splitlines()[-1]


def test_a_missing_config(tmp_path: Path) -> None:
    one_line_failure(
        run_hub(tmp_path / "nowhere.toml"), EXIT_USAGE, "nowhere.toml", "file not found", "heartline setup"
    )


def test_a_config_that_is_a_directory(tmp_path: Path) -> None:
    one_line_failure(
        run_hub(tmp_path), EXIT_USAGE, str(tmp_path), "is a directory", "pass the path of the hub's .toml"
    )


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_bytes('[hub]\nperson = "Zoë"\n'.encode("latin-1"))
    one_line_failure(run_hub(config), EXIT_USAGE, "hub.toml", "is not UTF-8 text", "save it as UTF-8")


def test_a_config_the_hub_may_not_read(config: Path) -> None:
    config.chmod(0o000)
    one_line_failure(
        run_hub(config, as_plain_user=True),
        EXIT_USAGE,
        "hub.toml",
        "permission denied",
        "make it readable by the user the hub runs as",
    )


def test_a_damaged_database(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DATABASE_FILE).write_bytes(b"this is no database, it is a shopping list\n" * 200)
    one_line_failure(
        run_hub(config),
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
    one_line_failure(run_hub(config), EXIT_RUNTIME, "written by a newer Heartline", "upgrade Heartline")


def test_a_data_dir_the_hub_may_not_write(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o500)
    data.chmod(0o500)
    one_line_failure(
        run_hub(config, as_plain_user=True),
        EXIT_RUNTIME,
        str(data),
        "Permission denied",
        "or set hub.data_dir to a writable directory",
    )


def test_a_data_dir_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    (web_port,) = free_ports(1)
    config = write_start_config(tmp_path / "hub.toml", blocker / "data", web_port)
    one_line_failure(run_hub(config), EXIT_RUNTIME, "cannot create the data directory", "set hub.data_dir")
