"""A hub start that is meant to fail: a config whose relay is never reached, ``heartline hub`` run
to its exit, and the check that the failure is one ``heartline:`` line with no traceback."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, LOOPBACK
from tests.support.waiting import START_S

EXIT_USAGE: Final = 2
EXIT_RUNTIME: Final = 1
# Linux capabilities a root test process drops in the child, so file permissions apply to it.
_PR_CAPBSET_DROP: Final = 24
_CAP_DAC_OVERRIDE: Final = 1
_CAP_DAC_READ_SEARCH: Final = 2


def write_start_config(path: Path, data_dir: Path, web_port: int) -> Path:
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


def without_root_file_access() -> Callable[[], None] | None:
    """For a root test process: the child loses the capabilities that ignore file modes."""
    if os.geteuid() != 0:
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop() -> None:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def run_hub(config: Path, *options: str, as_plain_user: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the exit status is what is checked
        [sys.executable, "-m", "hub.cli", *options, "hub", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=START_S,
        stdin=subprocess.DEVNULL,
        preexec_fn=without_root_file_access() if as_plain_user else None,
    )


def one_line_failure(result: subprocess.CompletedProcess[str], status: int, *needles: str) -> str:
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
