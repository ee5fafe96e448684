"""`heartline button add` on a known address: refused in one line naming --replace; --replace re-keys."""

from __future__ import annotations

import json

import pytest

from tests.support.demo_process import RunningDemo, heartline

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SHELLY = "3C:2E:F5:11:22:44"


def test_re_adding_a_button_needs_replace(running_demo: RunningDemo) -> None:
    hub = f"{running_demo.url}/a"
    add = ("button", "add", "--bthome", SHELLY, "--owner", "Alex", "--hub", hub)
    assert heartline(*add, "--key", "ab" * 16).returncode == 0
    again = heartline(*add, "--key", "cd" * 16)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "already registered" in again.stderr
    assert "--replace" in again.stderr
    replaced = heartline(*add, "--key", "cd" * 16, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    listed = [
        b
        for b in json.loads(heartline("button", "list", "--json", "--hub", hub).stdout)
        if b["address"] == SHELLY
    ]
    assert len(listed) == 1
