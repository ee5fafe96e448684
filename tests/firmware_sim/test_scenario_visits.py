"""Visits in scenarios, and the report that puts the hubs' answers beside the truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.scenario.config import ScenarioError, load_scenario, parse_scenario
from firmware_sim.scenario.runner import format_report, location, run_scenario
from firmware_sim.scenario.truth import Timeline, compare
from hub.cli.sim import sim_run

WEEK = Path(__file__).resolve().parents[2] / "firmware_sim" / "scenario" / "examples" / "week.toml"

EVENING = """
[scenario]
name = "an evening together"
start = "2025-03-07T18:00:00+00:00"
days = 0.1
seed = 3

[[homes]]
name = "alex-flat"
hub = [0.0, 0.0]

[[homes]]
name = "sam-house"
hub = [5000.0, 0.0]

[[people]]
name = "Alex"
home = "alex-flat"
touches_per_day = 40
away = ""

[[people]]
name = "Sam"
home = "sam-house"
touches_per_day = 40
away = ""

[[visits]]
person = "Sam"
to = "alex-flat"
from = "19:00"
until = "20:00"

[[devices]]
name = "alex-wearable"
owner = "Alex"

[[devices]]
name = "sam-wearable"
owner = "Sam"
"""


def _raw(**visit: Any) -> dict[str, Any]:
    return {
        "scenario": {},
        "homes": [{"name": "a"}, {"name": "b", "hub": [5000.0, 0.0]}],
        "people": [{"name": "Alex", "home": "a"}, {"name": "Sam", "home": "b"}],
        "devices": [{"name": "w", "owner": "Sam"}],
        "visits": [visit],
    }


def test_daily_and_dated_visits_parse_and_place_the_person() -> None:
    daily = parse_scenario(_raw(person="Sam", to="a", **{"from": "19:00", "until": "23:00"}))
    sam = daily.person("Sam")
    assert location(daily, sam, datetime(2025, 3, 4, 20, 0, tzinfo=UTC)) == "a"
    assert location(daily, sam, datetime(2025, 3, 4, 23, 30, tzinfo=UTC)) == "b"  # asleep at home
    dated = parse_scenario(
        _raw(
            person="Sam",
            to="a",
            **{"from": "2025-03-07T18:30:00+00:00", "until": "2025-03-08T01:00:00+00:00"},
        )
    )
    assert location(dated, sam, datetime(2025, 3, 8, 0, 30, tzinfo=UTC)) == "a"
    assert location(dated, sam, datetime(2025, 3, 9, 0, 30, tzinfo=UTC)) == "b"
    week = load_scenario(WEEK)
    assert {(v.person, v.to) for v in week.visits} == {("Sam", "alex-flat"), ("Alex", "sam-house")}


@pytest.mark.parametrize(
    ("visit", "key"),
    [
        ({"person": "Kim", "to": "a", "from": "19:00", "until": "23:00"}, "visits[0].person"),
        ({"person": "Sam", "to": "c", "from": "19:00", "until": "23:00"}, "visits[0].to"),
        ({"person": "Sam", "to": "b", "from": "19:00", "until": "23:00"}, "visits[0].to"),
        ({"person": "Sam", "to": "a", "from": "evening", "until": "23:00"}, "visits[0].from"),
        (
            {"person": "Sam", "to": "a", "from": "2025-03-07T19:00:00", "until": "2025-03-07T23:00:00"},
            "visits[0].from",
        ),
        (
            {
                "person": "Sam",
                "to": "a",
                "from": "2025-03-07T19:00:00+00:00",
                "until": "2025-03-07T18:00:00+00:00",
            },
            "visits[0].until",
        ),
        ({"person": "Sam", "to": "a", "from": "19:00"}, "visits[0].until"),
    ],
)
def test_a_bad_visit_names_its_key(visit: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(_raw(**visit))
    assert raised.value.key == key
    assert "\n" not in str(raised.value)


def test_the_comparison_counts_together_spurious_and_delays() -> None:
    line = Timeline()
    for t in range(0, 3600, 300):
        line.place("Alex", "a", float(t), 300.0)
    for t in range(1200, 2400, 300):
        line.place("Sam", "a", float(t), 300.0)
    line.sessions[("Alex", "a")] = [(0.0, 3600.0)]
    line.sessions[("Sam", "a")] = [(1210.0, 2350.0)]
    line.sessions[("Sam", "b")] = [(100.0, 200.0)]  # nobody was there: spurious
    line.changes[("Sam", "a")] = [(1240.0, True), (2460.0, False)]
    result = compare(line, {"Alex": "a", "Sam": "b"}, ["a", "b"], end_s=3600.0, days=1.0)
    assert result["couple"]["together_hours_true"] == pytest.approx(1200 / 3600, abs=0.01)
    assert result["couple"]["together_hours_measured"] == pytest.approx(1140 / 3600, abs=0.01)
    sam = result["people"]["Sam"]
    assert sam["spurious_sessions"] == 1
    assert sam["arrival_delay_median_s"] == 40.0
    assert sam["departure_delay_median_s"] == 60.0
    assert sam["visits"]["a"] == {"hours_measured": 0.32, "hours_true": 0.33}


@pytest.mark.slow  # two hours of two homes in virtual time
@pytest.mark.timeout(300)
def test_an_evening_together_gives_together_hours(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evening.toml"
    path.write_text(EVENING)
    report = run_scenario(load_scenario(path), work_dir=tmp_path / "run")
    data = report.as_dict()
    couple = data["couple"]
    assert couple["together_hours_true"] == 1.0
    assert 0.5 < couple["together_hours_measured"] <= 1.1  # the host's hub heard the visitor
    sam = data["people"]["Sam"]
    assert sam["visits"]["alex-flat"]["hours_measured"] > 0.5
    assert sam["presence_hours_true"] > 0
    assert sam["departure_delay_median_s"] is not None
    for device in report.devices:  # one press, one signal, however many hubs heard it
        assert sum(device.hub_events.values()) == sum(device.touches_made.values())
    for person in data["people"].values():
        touches = person["touches"]
        assert touches["unaccounted"] == 0
        assert touches["made"] > 0
        assert touches["lost"] == 0  # every touch was made near a hub
        assert touches["delivered"] > 0
    text = format_report(report)
    assert "the hubs' answers beside the truth" in text
    assert "together (Alex & Sam)" in text
    assert sim_run(path, json_output=True) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["people"]["Alex"]) >= {
        "presence_hours_measured",
        "presence_hours_true",
        "spurious_sessions",
    }
    assert set(printed["couple"]) >= {"together_hours_measured", "together_hours_true"}
