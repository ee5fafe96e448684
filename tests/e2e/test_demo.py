"""`heartline demo` as a user runs it: a real process, its dashboard API, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from hub.demo.broker import free_port

START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 15.0


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def _wait_for_line(process: subprocess.Popen[str], needle: str) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if needle in line:
                return line
            if not line and process.poll() is not None:
                break
    raise AssertionError(f"the demo never printed {needle!r} (exit code {process.poll()})")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_line(process, "Heartline demo running")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()  # only if the test failed before its own clean stop
            process.wait(timeout=STOP_TIMEOUT_S)
        assert process.stdout is not None
        process.stdout.close()
        log.close()


@pytest.mark.timeout(90)
def test_demo_relays_a_press_from_one_home_to_the_other_and_stops_cleanly(
    demo: tuple[subprocess.Popen[str], str],
) -> None:
    process, base = demo
    homes = {home["id"]: home for home in _get(f"{base}/api/homes")}
    assert set(homes) == {"a", "b"}
    assert homes["a"]["partner"] == homes["b"]["person"]

    _post(f"{base}/a/api/sim/buttons/{homes['a']['buttons'][0]}/press", {"gesture": "tap"})

    deadline = time.monotonic() + 20
    received: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not received:
        received = [s for s in _get(f"{base}/b/api/signals") if s["fate"] == "delivered"]
        time.sleep(0.1)
    assert received, "B never showed the touch as delivered"
    assert received[0]["channel"] == "button"
    output = _get(f"{base}/b/api/sim/buttons/{homes['b']['buttons'][0]}")
    assert [o["pattern"] for o in output["outputs"]] == ["thinking_of_you"]
    assert "/a/api/signals" in _get(f"{base}/openapi.json")["paths"]

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0
