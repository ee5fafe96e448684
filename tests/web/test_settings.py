"""Settings through the API against two running homes: validated, stored, applied at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.config import Settings, SettingsStore
from hub.delivery.quiet_hours import quiet_hours_for
from hub.events import SignalKind
from tests.support.homes import Homes
from tests.support.waiting import eventually_async


def valid_settings() -> dict[str, Any]:
    return {
        "timezone": "Europe/Berlin",
        "quiet_hours": {"start": "22:30", "end": "06:45", "break_through": ["need_you"]},
        "gesture_meanings": {"tap": "celebrate", "double_tap": "thinking_of_you", "long_press": "need_you"},
        "notify": ["ntfy://ntfy.sh/heartline-test-topic"],
        "retention_days": 30,
        "arrived_glow": False,
    }


async def test_settings_start_from_the_config_file(client: httpx.AsyncClient) -> None:
    settings = (await client.get("/a/api/settings")).json()
    assert settings == {
        "timezone": "UTC",
        "quiet_hours": None,
        "gesture_meanings": {"tap": "thinking_of_you", "double_tap": "celebrate", "long_press": "need_you"},
        "notify": [],
        "retention_days": 400,
        "arrived_glow": True,
    }


async def test_saved_settings_are_read_back_and_stored(client: httpx.AsyncClient, homes: Homes) -> None:
    response = await client.put("/a/api/settings", json=valid_settings())
    assert response.status_code == 200, response.text
    assert response.json() == valid_settings()
    assert (await client.get("/a/api/settings")).json() == valid_settings()
    assert (await client.get("/b/api/settings")).json()["timezone"] == "UTC"  # each home its own
    stored = SettingsStore(homes.hub_a.db).load(default=Settings())
    assert stored.to_json() == valid_settings()
    assert quiet_hours_for(stored) is not None
    assert homes.hub_a.settings.retention_days == 30
    assert homes.hub_a.settings.arrived_glow is False


def test_settings_stored_before_the_arrived_glow_mean_it_on() -> None:
    older = {k: v for k, v in valid_settings().items() if k != "arrived_glow"}
    assert Settings.from_json(older).arrived_glow is True


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7"}}, "quiet_hours.end"),
        (
            {"quiet_hours": {"start": "22:00", "end": "07:00", "break_through": ["panic"]}},
            "quiet_hours.break_through[0]",
        ),
        (
            {"gesture_meanings": {"tap": "felt_it", "double_tap": "celebrate", "long_press": "need_you"}},
            "gesture_meanings.tap",
        ),
        ({"notify": ["ntfy://ok/topic", "not a url"]}, "notify[1]"),
        ({"retention_days": -1}, "retention_days"),
        ({"retention_days": "30"}, "retention_days"),
        ({"arrived_glow": "yes"}, "arrived_glow"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_each_bad_setting_is_a_422_naming_it_and_changes_nothing(
    client: httpx.AsyncClient, change: dict[str, Any], key: str
) -> None:
    before = (await client.get("/b/api/settings")).json()
    response = await client.put("/b/api/settings", json={**valid_settings(), **change})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert detail.startswith(f"{key}: "), detail
    assert "\n" not in detail
    assert (await client.get("/b/api/settings")).json() == before


async def test_quiet_hours_that_end_when_they_start_are_a_conflict(client: httpx.AsyncClient) -> None:
    body = {**valid_settings(), "quiet_hours": {"start": "22:00", "end": "22:00"}}
    response = await client.put("/b/api/settings", json=body)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("quiet_hours.end: must differ")


async def test_quiet_hours_set_now_hold_the_next_signal(client: httpx.AsyncClient, homes: Homes) -> None:
    zone = "Asia/Tokyo"
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    body = {
        **valid_settings(),
        "timezone": zone,
        "quiet_hours": {
            "start": (local - timedelta(hours=1)).strftime("%H:%M"),
            "end": (local + timedelta(hours=1)).strftime("%H:%M"),
        },
    }
    assert (await client.put("/b/api/settings", json=body)).status_code == 200
    sent = homes.hub_a.send(SignalKind.THINKING_OF_YOU)

    async def held() -> dict[str, Any] | None:
        for signal in (await client.get("/b/api/signals")).json():
            if signal["id"] == sent.id and signal["fate"] == "held":
                return dict(signal)
        return None

    signal = await eventually_async(held, what="B to hold the signal in its quiet hours")
    assert "quiet hours" in signal["reason"]
    assert zone in signal["reason"]


@pytest.mark.slow  # a touch through both hubs
async def test_a_new_gesture_meaning_applies_to_the_next_touch(
    client: httpx.AsyncClient, homes: Homes
) -> None:
    body = {
        **valid_settings(),
        "quiet_hours": None,
        "gesture_meanings": {"tap": "celebrate", "double_tap": "thinking_of_you", "long_press": "need_you"},
        "notify": [],
    }
    assert (await client.put("/a/api/settings", json=body)).status_code == 200
    await homes.button_a.press("tap")

    async def received() -> list[dict[str, Any]]:
        return [s for s in (await client.get("/b/api/signals")).json() if s["direction"] == "received"]

    (signal,) = await eventually_async(received, what="A's tap to arrive at B")
    assert signal["kind"] == "celebrate"


async def test_notification_urls_change_at_run_time(client: httpx.AsyncClient, homes: Homes) -> None:
    body = {**valid_settings(), "quiet_hours": None}
    assert (await client.put("/b/api/settings", json=body)).status_code == 200
    assert homes.hub_b.settings.notify == ("ntfy://ntfy.sh/heartline-test-topic",)
    assert (await client.put("/b/api/settings", json={**body, "notify": []})).status_code == 200
    assert not homes.hub_b.settings.notify
