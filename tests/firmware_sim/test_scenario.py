"""Scenarios in virtual time: ground truth next to what the hubs logged."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from firmware_sim.scenario.config import ScenarioError, load_scenario, parse_scenario
from firmware_sim.scenario.runner import ScenarioReport, format_report, run_scenario
from hub.cli.sim import sim_run

WEEK = Path(__file__).resolve().parents[2] / "firmware_sim" / "scenario" / "examples" / "week.toml"


def test_example_week_parses() -> None:
    scenario = load_scenario(WEEK)
    assert scenario.days == 7
    assert {p.name for p in scenario.people} == {"Alex", "Sam"}
    assert [d.kind for d in scenario.devices] == ["wearable", "wearable", "button"]


@pytest.mark.slow  # an hour of two homes in virtual time
def test_sim_run_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short.toml"
    short.write_text(WEEK.read_text().replace("days = 7", "days = 0.05"))
    assert sim_run(short, json_output=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["virtual_days"] == 0.05
    assert {d["name"] for d in report["devices"]} == {"alex-wearable", "sam-wearable", "sam-bedside"}


def test_bad_scenario_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(WEEK.read_text().replace('owner = "Sam"', 'owner = "Kim"', 1))
    assert sim_run(bad, json_output=False) == 2
    assert "devices[1].owner" in capsys.readouterr().err
    with pytest.raises(ScenarioError, match=r"scenario\.days"):
        parse_scenario({"scenario": {"days": 0}, "homes": [], "people": [], "devices": []})


# One simulated run serves every test below: a day by default (about a minute of CPU: each
# wearable wakes for a listen window every minute), the full week with HEARTLINE_SOAK=1.
SOAK = os.environ.get("HEARTLINE_SOAK") == "1"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ScenarioReport:
    days = 7.0 if SOAK else 1.0
    scenario = dataclasses.replace(load_scenario(WEEK), days=days)
    return run_scenario(scenario, work_dir=tmp_path_factory.mktemp("scenario"))


# The shared run happens inside the first test that asks for it (`make test` keeps a file's tests
# on one worker, so it happens once).
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_hubs_log_every_touch_in_range_in_virtual_time(run: ScenarioReport) -> None:
    report = run
    assert report.virtual_days == (7.0 if SOAK else 1.0)
    for device in report.devices:
        made = sum(device.touches_made.values())
        assert made > 0
        assert sum(device.recognised.values()) == made  # the firmware saw every touch
        assert device.event_adverts == made
        # Every touch in range arrives, and touches made away arrive too once the wearable is
        # back (kept until acknowledged, device/keep.py): none twice, none invented.
        assert device.touches_in_range <= sum(device.hub_events.values()) <= made
        assert device.energy is not None
    bedside = next(d for d in report.devices if d.kind == "button")
    assert dict(bedside.hub_events) == dict(bedside.touches_made)  # gestures match, too
    for person in report.as_dict()["people"].values():
        # Every touch made is in exactly one column: nothing silently dropped.
        t = person["touches"]
        assert t["unaccounted"] == 0
        assert t["delivered"] + t["not_felt"] + t["on_the_way_at_end"] + t["lost"] == t["made"]
        assert t["not_felt"] == sum(t["not_felt_reasons"].values())
    assert report.adverts_heard > 0
    text = format_report(report)
    assert "hub logged" in text
    assert "auto-light-sleep" in text


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_wearable_lasts_two_weeks_on_a_stock_image_and_states_its_latency(run: ScenarioReport) -> None:
    report = run
    text = format_report(report)
    for device in (d for d in report.devices if d.kind == "wearable"):
        assert device.power == "wearable"
        assert device.energy is not None
        assert device.energy.profile("stock deep-sleep").life_days >= 14
        assert device.energy.profile("stock always-on").life_days < 1  # the baseline, same run
        assert f"energy, {device.name} (wearable power):" in text
        latency = device.latency_summary()
        assert latency is not None
        assert latency["max_s"] <= 60 + 11  # one listen period and its grace at most
    assert "feedback latency (hub sends -> button confirms)" in text
    assert "[not reachable on a stock image]" in text
