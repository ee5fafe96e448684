"""`heartline button add|list|remove` against a running hub (the demo's home A)."""

from __future__ import annotations

import json

import pytest

from tests.support.demo_process import RunningDemo, heartline

# Each test starts the demo as a real process and runs the CLI as more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SHELLY = "3C:2E:F5:11:22:33"


def test_add_list_and_remove_an_off_the_shelf_button(running_demo: RunningDemo) -> None:
    hub = f"{running_demo.url}/a"
    added = heartline(
        "button", "add", "--bthome", SHELLY, "--key", "ab" * 16, "--owner", "Alex", "--hub", hub
    )
    assert added.returncode == 0, added.stderr
    assert SHELLY in added.stdout
    assert "ab" * 16 not in added.stdout + added.stderr  # the key is never echoed

    listed = heartline("button", "list", "--json", "--hub", hub)
    buttons = {b["address"]: b for b in json.loads(listed.stdout)}
    assert buttons[SHELLY]["kind"] == "bthome"
    assert "key" not in buttons[SHELLY]

    table = heartline("button", "list", "--hub", hub)
    assert SHELLY in table.stdout

    removed = heartline("button", "remove", str(buttons[SHELLY]["id"]), "--hub", hub)
    assert removed.returncode == 0, removed.stderr
    assert SHELLY not in heartline("button", "list", "--hub", hub).stdout


def test_mistakes_get_one_line_that_says_what_to_do(running_demo: RunningDemo) -> None:
    hub = f"{running_demo.url}/a"
    bad_key = heartline("button", "add", "--bthome", SHELLY, "--key", "abc", "--owner", "Alex", "--hub", hub)
    assert bad_key.returncode == 2
    assert bad_key.stderr.strip().splitlines()[-1].startswith("heartline: the hub refused: key:")

    missing = heartline("button", "remove", "999", "--hub", hub)
    assert missing.returncode == 2
    assert "no button with id 999" in missing.stderr

    nobody = heartline("button", "list", "--hub", "http://127.0.0.1:1")
    assert nobody.returncode == 2
    assert "is `heartline hub` running?" in nobody.stderr


def test_stats_in_words_and_json(running_demo: RunningDemo) -> None:
    hub = f"{running_demo.url}/b"
    words = heartline("stats", "--hub", hub, "--days", "14")
    assert words.returncode == 0, words.stderr
    assert "touches in the last 14 days" in words.stdout
    report = json.loads(heartline("stats", "--json", "--hub", hub).stdout)
    assert report["days"] == 28
    assert report["summary"]
