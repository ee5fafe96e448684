"""A newcomer's evening, timed: docs/try-a-real-hub.md followed literally, from a fresh clone.

    python -m benchmarks.try_a_real_hub [--runs N] [--quick]

Runs the page's commands exactly as written (the same script its test runs), section by section,
in a fresh ``git clone`` of this repository, so ``make install`` really builds the virtualenv
(pip's cache and the package registry serve the wheels). Prints how long each section of the
page takes and the whole, from the clone to the partner's button playing the touch.
``--quick`` runs in this checkout instead (its virtualenv already made), once.

Baseline, same run: ``heartline demo`` from its command to "demo running", the other way a
newcomer sees a touch arrive, with everything in one process and nothing to set up.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from benchmarks.timing import median, table
from hub.demo.broker import free_port
from tests.support.doc_script import ROOT, page_sections, run_script

PAGE: Final = ROOT / "docs" / "try-a-real-hub.md"
SCRATCH: Final = Path("/tmp/heartline-try")
RUN_BOUND_S: Final = 900.0  # a fresh virtualenv is most of it
MARK: Final = "@@section"
DEMO_BOUND_S: Final = 120.0


def _marked_script(sections: list[tuple[str, str]]) -> str:
    """The page's commands with a timestamp printed before each section and after the last."""
    parts = []
    for index, (_, commands) in enumerate(sections):
        parts.append(f'echo "{MARK} {index} $EPOCHREALTIME"\n{commands}')
    parts.append(f'echo "{MARK} {len(sections)} $EPOCHREALTIME"\n')
    return "".join(parts)


def follow_page(cwd: Path) -> list[float]:
    """Seconds per section of the page, run in ``cwd`` (the top of a clone)."""
    sections = page_sections(PAGE)
    shutil.rmtree(SCRATCH, ignore_errors=True)
    try:
        run = run_script(_marked_script(sections), timeout_s=RUN_BOUND_S, cwd=cwd)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    if run.returncode != 0:
        sys.exit(f"the page failed (exit {run.returncode}):\n{run.output[-4000:]}")
    marks = {int(i): float(t) for i, t in re.findall(rf"{MARK} (\d+) ([\d.]+)", run.output)}
    return [marks[i + 1] - marks[i] for i in range(len(sections))]


def demo_start_s() -> float:
    """``heartline demo`` from exec to its "running" line (then Ctrl-C)."""
    command = [str(Path(sys.executable).parent / "heartline"), "demo", "--port", str(free_port())]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        deadline = started + DEMO_BOUND_S
        for line in process.stdout:
            if "demo running" in line:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                break
        sys.exit(f"the demo did not start: {shlex.join(command)}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.try_a_real_hub", description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="fresh clones to time (default 1)")
    parser.add_argument("--quick", action="store_true", help="once, in this checkout")
    args = parser.parse_args(argv)
    headings = [heading for heading, _ in page_sections(PAGE)]
    runs: list[list[float]] = []
    for _ in range(1 if args.quick else args.runs):
        if args.quick:
            runs.append(follow_page(ROOT))
            continue
        with tempfile.TemporaryDirectory(prefix="heartline-clone-") as tmp:
            clone = Path(tmp) / "heartline"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            runs.append(follow_page(clone))
    demo = median([demo_start_s() for _ in range(3)])
    per_section = [median([run[i] for run in runs]) for i in range(len(headings))]
    where = "this checkout" if args.quick else f"a fresh clone, median of {len(runs)}"
    print(f"docs/try-a-real-hub.md followed literally ({where}):\n")
    rows: list[list[object]] = [
        [heading, seconds] for heading, seconds in zip(headings, per_section, strict=True)
    ]
    rows.append(["the whole page, to the partner's button buzzing", sum(per_section)])
    rows.append(["baseline: `heartline demo` to 'demo running' (median of 3)", demo])
    print(table(["step", "seconds"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
