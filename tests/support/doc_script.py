"""Run a documentation page's shell blocks as one script, exactly as written and in order.

A page that walks a newcomer through a setup is only true if its commands, run one after the
other with no edits, give the promised result. The script runs in its own session (process
group), so whatever it starts in the background (brokers, hubs) is stopped by that group's id
if the page's own last step did not stop it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]


def page_commands(page: Path) -> str:
    """The page's ```sh blocks, joined in order: the script a reader would type."""
    return "".join(commands for _, commands in page_sections(page))


def page_sections(page: Path) -> list[tuple[str, str]]:
    """(heading, its ```sh blocks joined) for each ``##`` section that has commands, in order."""
    sections = []
    for part in re.split(r"^## ", page.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        heading = part.split("\n", 1)[0].strip()
        blocks = re.findall(r"```sh\n(.*?)```", part, flags=re.DOTALL)
        if blocks:
            sections.append((heading, "".join(blocks)))
    return sections


@dataclass(frozen=True, slots=True)
class ScriptRun:
    returncode: int
    output: str
    seconds: float


def run_page(page: Path, *, timeout_s: float, cwd: Path = ROOT) -> ScriptRun:
    """Run the page under ``bash -e -o pipefail`` from ``cwd`` (a clone's top); return what it printed."""
    return run_script(page_commands(page), timeout_s=timeout_s, cwd=cwd)


def run_script(commands: str, *, timeout_s: float, cwd: Path = ROOT) -> ScriptRun:
    script = "set -euo pipefail\n" + commands
    env = dict(os.environ)
    # The page activates the repository's virtualenv itself; start from the interpreter running
    # the suite so `make install` finds the same one already set up.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _stop_group(process.pid)
        output, _ = process.communicate()
        output += f"\n[the page did not finish within {timeout_s:.0f} s]"
    finally:
        _stop_group(process.pid)
    return ScriptRun(process.returncode, output, time.monotonic() - started)


def _stop_group(pgid: int) -> None:
    """Stop what the script left running: its own process group, which this module created."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)  # raises ProcessLookupError once every member is gone
            time.sleep(0.1)
        os.killpg(pgid, signal.SIGKILL)
