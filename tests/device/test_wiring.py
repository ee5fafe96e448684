"""The wiring table in hardware/README.md, device/main.py's pins and the XIAO ESP32-C3's pin map agree.

A builder solders by the table and the firmware drives the GPIOs main.py names: if the two drift
apart the button is dead on the bench, and nothing else would notice.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from tests.device.vectors import REPO

README: Final = REPO / "hardware" / "README.md"
MAIN: Final = REPO / "device" / "main.py"

# Seeed Studio XIAO ESP32-C3: board label -> ESP32-C3 GPIO, as Seeed's board definition gives it
# (espressif/arduino-esp32, variants/XIAO_ESP32C3/pins_arduino.h; cited in hardware/README.md).
XIAO_ESP32C3: Final = {
    "D0": 2,
    "D1": 3,
    "D2": 4,
    "D3": 5,
    "D4": 6,
    "D5": 7,
    "D6": 21,
    "D7": 20,
    "D8": 8,
    "D9": 9,
    "D10": 10,
}
# Pins a signal must not take: they choose the boot mode or print the boot log (Seeed's note on
# XIAO ESP32C3 IO allocation). D0 carries the battery divider knowingly (see the README).
STRAPPING_OR_BOOT_LOG: Final = {"D6", "D8", "D9"}

_ROW = re.compile(r"^\|(.+)\|\s*$")


def wiring_rows() -> list[dict[str, str]]:
    """The wiring table's rows as {column: cell}, from its header to the first non-table line."""
    lines = README.read_text(encoding="utf-8").split("## Wiring", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| signal |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        match = _ROW.match(line)
        if match is None:
            break
        cells = [cell.strip() for cell in match.group(1).split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def main_pins() -> dict[str, int]:
    """Every ``NAME_PIN = const(N)`` at the top level of device/main.py."""
    pins: dict[str, int] = {}
    for node in ast.parse(MAIN.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not (isinstance(target, ast.Name) and target.id.endswith("_PIN")):
            continue
        assert isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "const"
        (argument,) = value.args
        assert isinstance(argument, ast.Constant) and isinstance(argument.value, int)
        pins[target.id] = argument.value
    return pins


def gpio_rows() -> list[dict[str, str]]:
    return [row for row in wiring_rows() if row["XIAO pin"] in XIAO_ESP32C3]


def test_the_table_is_there_with_a_row_per_gpio() -> None:
    rows = gpio_rows()
    assert {row["signal"] for row in rows} >= {"battery sense", "touch", "motor", "LED data", "LED power"}
    labels = [row["XIAO pin"] for row in rows]
    assert len(labels) == len(set(labels)), f"a board pin has two signals: {labels}"


def test_each_rows_gpio_is_the_xiao_pin_maps() -> None:
    for row in gpio_rows():
        assert row["GPIO"] == f"GPIO{XIAO_ESP32C3[row['XIAO pin']]}", row


def test_each_rows_constant_is_in_main_py_with_that_gpio() -> None:
    pins = main_pins()
    for row in gpio_rows():
        name = row["`device/main.py`"].strip("`")
        assert name in pins, f"{name} (wiring table, {row['signal']}) is not a *_PIN in device/main.py"
        assert f"GPIO{pins[name]}" == row["GPIO"], f"{name}: main.py says {pins[name]}, the table {row['GPIO']}"


def test_every_pin_main_py_drives_is_in_the_table() -> None:
    named = {row["`device/main.py`"].strip("`") for row in gpio_rows()}
    assert set(main_pins()) == named
    assert "LED_POWER_PIN" in named  # the LED's supply is gated (the power budget counts on it)


def test_no_signal_sits_on_a_strapping_or_boot_log_pin() -> None:
    assert not {row["XIAO pin"] for row in gpio_rows()} & STRAPPING_OR_BOOT_LOG


def test_main_py_hands_the_led_power_pin_to_the_firmware() -> None:
    tree = ast.parse(MAIN.read_text(encoding="utf-8"))
    build = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build")
    used = {n.id for n in ast.walk(build) if isinstance(n, ast.Name)}
    assert {"TOUCH_PIN", "MOTOR_PIN", "LED_PIN", "BATTERY_PIN", "LED_POWER_PIN"} <= used
    keywords = {k.arg for n in ast.walk(build) if isinstance(n, ast.Call) for k in n.keywords}
    assert "led_power" in keywords
