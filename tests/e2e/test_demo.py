"""`heartline demo` as a user runs it: a real process, its dashboard API, and a clean Ctrl-C."""

from __future__ import annotations

import json
import signal
import urllib.request
from typing import Any, Final

import pytest

from tests.support.demo_process import RunningDemo
from tests.support.waiting import WAIT_S, eventually_sync

STOP_TIMEOUT_S: Final = 15.0

pytestmark = pytest.mark.slow  # the demo as a real process


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=WAIT_S) as response:
        return json.load(response)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WAIT_S) as response:
        return json.load(response)


@pytest.mark.timeout(180)
def test_demo_relays_a_press_from_one_home_to_the_other_and_stops_cleanly(
    running_demo: RunningDemo,
) -> None:
    process, base = running_demo.process, running_demo.url
    homes = {home["id"]: home for home in _get(f"{base}/api/homes")}
    assert set(homes) == {"a", "b"}
    assert homes["a"]["partner"] == homes["b"]["person"]

    _post(f"{base}/a/api/sim/buttons/{homes['a']['buttons'][0]}/press", {"gesture": "tap"})

    received = eventually_sync(
        lambda: [s for s in _get(f"{base}/b/api/signals") if s["fate"] == "delivered"],
        what="B to show the touch as delivered",
    )
    assert received[0]["channel"] == "button"
    output = _get(f"{base}/b/api/sim/buttons/{homes['b']['buttons'][0]}")
    assert [o["pattern"] for o in output["outputs"]] == ["thinking_of_you"]
    assert "/a/api/signals" in _get(f"{base}/openapi.json")["paths"]
    # Each home is that hub's own app: its dashboard at /{home}/, who it is at /{home}/api/hub.
    assert _get(f"{base}/b/api/hub")["sim"] == {"buttons": homes["b"]["buttons"]}
    with urllib.request.urlopen(f"{base}/a/", timeout=WAIT_S) as response:
        assert 'src="static/dashboard.js"' in response.read().decode()
    with urllib.request.urlopen(base, timeout=WAIT_S) as response:
        assert 'src="a/"' in response.read().decode()

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0
