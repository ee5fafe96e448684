"""docs/try-a-real-hub.md, run exactly as written: its shell blocks, in order, as one script.

Two real `heartline hub` processes, a TLS mosquitto relay and the simulated radio, all started
by the page's own commands; the page's last check is Sam's simulated button playing the touch
Alex's button sent. The page works in /tmp/heartline-try, which this test clears before and after.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path
from typing import Final

import pytest

from tests.support.doc_script import ROOT, page_commands, run_page

pytestmark = [pytest.mark.slow, pytest.mark.broker]

PAGE: Final = ROOT / "docs" / "try-a-real-hub.md"
SCRATCH: Final = Path("/tmp/heartline-try")  # the page's own scratch directory
# The ports the page uses: the relay's TLS, the radio and its control, the two dashboards.
PAGE_PORTS: Final = (8883, 7000, 7001, 8081, 8082)
RUN_BOUND_S: Final = 480.0  # hub starts, two pairings and a touch, on a busy machine


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _logs() -> str:
    """The ends of the daemons' logs, for a failure's message."""
    return "".join(
        f"\n--- {log.name}:\n" + log.read_text(encoding="utf-8", errors="replace")[-3000:]
        for log in sorted(SCRATCH.glob("*.log"))
    )


def test_the_page_is_one_script_of_real_commands() -> None:
    script = page_commands(PAGE)
    assert "heartline hub --config alex/hub.toml" in script
    assert "heartline couple join @invite.txt" in script
    assert script.rstrip().endswith("wait")  # it stops what it started


@pytest.mark.timeout(RUN_BOUND_S + 60)
def test_following_the_page_makes_a_touch_buzz_the_partners_button() -> None:
    taken = [port for port in PAGE_PORTS if not _free(port)]
    if taken:
        pytest.fail(f"the page needs ports {taken} on 127.0.0.1; something else holds them", pytrace=False)
    shutil.rmtree(SCRATCH, ignore_errors=True)
    try:
        run = run_page(PAGE, timeout_s=RUN_BOUND_S)
        assert run.returncode == 0, run.output[-6000:] + _logs()
        # The wait call printed what Sam's button played: the touch Alex's button sent.
        played = re.findall(r'\{"pattern":"(\w+)"', run.output)
        assert played == ["thinking_of_you"], run.output[-3000:]
        assert "paired button" in run.output
        assert "Traceback" not in run.output, run.output[-6000:]
        for log in ("alex.log", "sam.log", "radio.log"):  # where the page sends the daemons' logs
            text = (SCRATCH / log).read_text(encoding="utf-8")
            assert "Traceback" not in text, f"{log}:\n{text[-6000:]}"
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
