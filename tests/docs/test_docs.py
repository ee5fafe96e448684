"""The docs tell the truth: their example config loads and the commands they show run."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import parse_config

ROOT = Path(__file__).resolve().parents[2]


def _heartline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_readme_quick_start_is_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Try it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_what_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_the_example_hub_config_is_valid_once_setup_filled_in_the_key(tmp_path: Path) -> None:
    """Every key the example explains loads; only the placeholders setup fills in stand out."""
    import tomllib  # noqa: PLC0415

    from hub.config.write import new_couple_key  # noqa: PLC0415

    raw = tomllib.loads((ROOT / "docs" / "hub.example.toml").read_text())
    ca = tmp_path / "relay-ca.crt"
    ca.write_text("placeholder: only its existence is checked here")
    raw["relay"]["ca_file"] = str(ca)
    raw["relay"]["couple_key"] = new_couple_key()
    config = parse_config(raw, "docs/hub.example.toml")
    assert config.relay.broker.startswith("mqtts://")


def test_config_check_says_to_run_setup_for_the_example_as_shipped() -> None:
    result = _heartline("config", "check", str(ROOT / "docs" / "hub.example.toml"))
    # The shipped example holds placeholders: the key's line says to run `heartline setup`, the
    # CA's that it does not exist, and a last line counts them (every problem, one line each).
    assert result.returncode == 2
    example = ROOT / "docs" / "hub.example.toml"
    key, ca, count = result.stderr.strip().splitlines()
    assert key.startswith(f"{example}: relay.couple_key: ")
    assert "`heartline setup`" in key
    assert ca.startswith(f"{example}: relay.ca_file: ")
    assert count == f"heartline: {example}: 2 problems; fix each line above and check again"


def test_config_check_refuses_the_old_example_key(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "hub.example.toml").read_text()
    ca = tmp_path / "relay-ca.crt"
    ca.write_text("placeholder")
    old = text.replace('"written-by-heartline-setup"', '"' + "5a" * 32 + '"').replace(
        "/etc/heartline/relay-ca.crt", str(ca)
    )
    path = tmp_path / "hub.toml"
    path.write_text(old)
    result = _heartline("config", "check", str(path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "relay.couple_key: is not a random key" in line
    assert "heartline setup" in line


def _sh_commands(path: Path, starting: str) -> list[list[str]]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith(starting):
                found.append(shlex.split(command))
    return found


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A temporary directory mosquitto's own user could enter (pytest's are root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="heartline-docs-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_broker_setup_as_documented(reachable_tmp: Path) -> None:
    """The first-evening page's relay commands, run with the relay directory moved into tmp."""
    page = ROOT / "docs" / "pairing-and-invite.md"
    documented = _sh_commands(page, "heartline broker")
    assert [argv[:3] for argv in documented] == [
        ["heartline", "broker", "setup"],
        ["heartline", "broker", "add-couple"],
    ]
    relay = reachable_tmp / "relay"
    for documented_argv in documented:
        argv = [str(relay) if arg == "/var/lib/heartline-relay" else arg for arg in documented_argv]
        result = _heartline(*argv[1:])
        assert result.returncode == 0, result.stderr
    text = page.read_text()
    for number in (1, 2):
        for hub in ("hub-a", "hub-b"):
            assert (relay / f"couple-{number}" / f"{hub}.login").is_file()
            assert f"couple-{number}/{hub}.login" in text
    assert (relay / "mosquitto.conf").is_file()
    assert ["mosquitto", "-c", "/var/lib/heartline-relay/mosquitto.conf"] in _sh_commands(page, "mosquitto")


@pytest.mark.slow  # a process per command
def test_every_command_in_the_readme_has_help() -> None:
    for command in (
        ["demo"],
        ["hub"],
        ["setup"],
        ["config", "check"],
        ["broker", "setup"],
        ["broker", "add-couple"],
        ["couple", "invite"],
        ["couple", "join"],
    ):
        result = _heartline(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Every ``heartline ...`` line in a shell block of the README or docs/, as argv lists."""
    found: list[tuple[str, list[str]]] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.DOTALL):
            for line in block.splitlines():
                command = line.split("#", 1)[0].strip()
                command = re.sub(r"\s*&(\s*\w+=\$!)?$", "", command)  # run in the background
                command = re.sub(r"\s+\d?>\s*\S+", "", command)  # its output sent to a file
                # heartline ..., sudo [-u USER] heartline ..., or a venv's .../bin/heartline ...
                match = re.match(r"(?:sudo (?:-u \S+ )?)?(?:\S*/bin/)?heartline (.+)$", command)
                if match:
                    found.append((f"{path.name}: {command}", shlex.split(match[1])))
    return found


DOCUMENTED = _documented_commands()


def test_the_docs_show_commands_at_all() -> None:
    assert len(DOCUMENTED) >= 15


@pytest.mark.parametrize(("where", "argv"), DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_every_documented_command_exists_with_those_options(where: str, argv: list[str]) -> None:
    """Each documented command line parses: its words are real subcommands and its options real
    options. (The commands themselves are run by the suites of the rooms they belong to.)"""
    from hub.cli.main import parse_args  # noqa: PLC0415

    parse_args(argv)  # argparse exits non-zero, failing the test, on anything it does not know
