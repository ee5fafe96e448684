"""pytest plugin: ``heartline demo`` as a real process on a free port, stopped by its pid."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from hub.demo.broker import free_port

# The demo starts in a second or two; importing and starting two hubs takes much longer on a busy
# machine, and the bound only costs time when the demo is broken.
START_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True)
class RunningDemo:
    process: subprocess.Popen[str]
    url: str


def heartline(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``heartline`` command as a user would, with this test run's interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _wait_for_line(process: subprocess.Popen[str], needle: str) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = process.stdout.readline()
                if needle in line:
                    return line
                if not line and process.poll() is not None:
                    break
    finally:
        selector.close()
    raise AssertionError(f"the demo never printed {needle!r} (exit code {process.poll()})")


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[RunningDemo]:
    port = free_port()
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_line(process, "Heartline demo running")
        yield RunningDemo(process, f"http://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.kill()  # only if the test did not stop it cleanly itself
            process.wait(timeout=STOP_TIMEOUT_S)
        assert process.stdout is not None
        process.stdout.close()
        log.close()
