"""The docs tell the truth: their example config loads and the commands they show run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
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


def test_the_example_hub_config_is_valid(tmp_path: Path) -> None:
    import tomllib  # noqa: PLC0415

    raw = tomllib.loads((ROOT / "docs" / "hub.example.toml").read_text())
    ca = tmp_path / "relay-ca.crt"
    ca.write_text("placeholder: only its existence is checked here")
    raw["relay"]["ca_file"] = str(ca)
    config = parse_config(raw, "docs/hub.example.toml")
    assert config.relay.broker.startswith("mqtts://")


def test_config_check_names_the_problem_in_the_example_as_shipped() -> None:
    result = _heartline("config", "check", str(ROOT / "docs" / "hub.example.toml"))
    # On a machine without the relay's CA file the only complaint is that file, in one line.
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "heartline: "
        + str(ROOT / "docs" / "hub.example.toml")
        + ": relay.ca_file: /etc/heartline/relay-ca.crt does not exist"
    ]


def test_broker_setup_as_documented(tmp_path: Path) -> None:
    result = _heartline("broker", "setup", "--out", str(tmp_path / "relay"), "--host", "relay.example.org")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "relay" / "mosquitto.conf").is_file()
    assert result.stdout.count("password") == 2


def test_every_command_in_the_readme_has_help() -> None:
    for command in (["demo"], ["hub"], ["config", "check"], ["broker", "setup"]):
        result = _heartline(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Every ``heartline ...`` line in a shell block of the README or docs/, as argv lists."""
    found: list[tuple[str, list[str]]] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.DOTALL):
            for line in block.splitlines():
                command = line.split("#", 1)[0].strip()
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
