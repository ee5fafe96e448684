"""The energy model: charge per state from logged activity, and battery life."""

from __future__ import annotations

import pytest

from firmware_sim.energy.model import (
    ESP32C3_LIGHT_SLEEP_UA,
    ESP32C3_MODEM_SLEEP_MA,
    advert_event_mc,
    estimate,
)
from firmware_sim.shims.bluetooth import RadioActivity

DAY = 86400.0


def idle_day(interval_us: int = 1_000_000) -> RadioActivity:
    activity = RadioActivity()
    activity.start_advertising(0.0, interval_us, 7)
    activity.close(DAY)
    return activity


def test_advertising_events_follow_the_interval() -> None:
    result = estimate(battery="lipo-500", duration_s=DAY, activity=idle_day(), motor=[], led=[], cpu_wakes=0)
    assert result.advert_events == pytest.approx(86400)
    assert result.caveat is None


def test_idle_floor_dominates_without_light_sleep() -> None:
    result = estimate(battery="lipo-500", duration_s=DAY, activity=idle_day(), motor=[], led=[], cpu_wakes=0)
    micropython, light = result.profiles
    assert micropython.average_ma == pytest.approx(ESP32C3_MODEM_SLEEP_MA, rel=0.02)
    assert light.average_ma > ESP32C3_LIGHT_SLEEP_UA / 1000
    assert light.life_days > 14 > micropython.life_days


def test_motor_and_led_time_are_integrated() -> None:
    motor = [(10.0, 65535), (11.0, 0)]  # one second at full duty
    led = [(10.0, (255, 255, 255)), (12.0, (0, 0, 0))]  # two seconds full white
    result = estimate(
        battery="lipo-500", duration_s=DAY, activity=RadioActivity(), motor=motor, led=led, cpu_wakes=0
    )
    assert result.motor_s == pytest.approx(1.0)
    assert result.led_s == pytest.approx(2.0)


def test_an_advert_event_costs_about_a_tenth_of_a_millicoulomb() -> None:
    assert 0.05 < advert_event_mc(7, asleep_between=True) < 0.3


def test_coin_cell_carries_a_caveat() -> None:
    result = estimate(battery="cr2032", duration_s=DAY, activity=idle_day(), motor=[], led=[], cpu_wakes=0)
    assert result.caveat is not None
    with pytest.raises(ValueError, match="unknown battery"):
        estimate(battery="aa", duration_s=DAY, activity=idle_day(), motor=[], led=[], cpu_wakes=0)


def test_deep_sleep_profile_is_awake_time_at_modem_sleep_plus_the_board_floor() -> None:
    from firmware_sim.energy.model import (  # noqa: PLC0415 - the deep-sleep figures only here
        BOOT_S,
        DEEP_SLEEP,
        ESP32C3_CPU_RUNNING_MA,
        XIAO_DEEP_SLEEP_UA,
        SleepCycles,
    )

    boots = 1440  # one listen window a minute
    awake_s = boots * 2.5
    cycles = SleepCycles(awake_s=awake_s, boots=boots, listen_period_s=60)
    result = estimate(
        battery="lipo-500",
        duration_s=DAY,
        activity=RadioActivity(),
        motor=[],
        led=[],
        cpu_wakes=0,
        sleep=cycles,
    )
    deep = result.profile(DEEP_SLEEP)
    expected_mc = (
        (DAY - awake_s) * XIAO_DEEP_SLEEP_UA / 1000
        + awake_s * ESP32C3_MODEM_SLEEP_MA
        + boots * BOOT_S * ESP32C3_CPU_RUNNING_MA
    )
    assert sum(deep.parts_mc.values()) == pytest.approx(expected_mc + DAY * 3.5 / 1000)
    assert deep.life_days > 14 > result.profile("stock always-on").life_days
    assert "not reachable on a stock image" in "\n".join(result.lines())


def test_deep_sleep_is_only_reported_for_a_device_run_in_that_mode() -> None:
    result = estimate(battery="lipo-500", duration_s=DAY, activity=idle_day(), motor=[], led=[], cpu_wakes=0)
    assert [b.profile for b in result.profiles] == ["stock always-on", "auto-light-sleep"]
