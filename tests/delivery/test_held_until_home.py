"""Away with no phone: a touch waits for its recipient to come home, and says so.

Two hubs built by ``open_hub`` on one virtual clock (presence decides "away" on it), real
mosquitto, the simulated air and both buttons running the real firmware. Sam takes the button
across town; Sam's hub has no phone to notify. Alex's touch is held with its reason on both
feeds, stays held through a restart of Sam's hub, and reaches Sam's button once presence hears
Sam home again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, cast

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.app.builder import open_hub
from hub.app.hub import Hub
from hub.ble.feedback import FeedbackSender, OnWait
from hub.bus import UpdateBus
from hub.clock import ManualClock
from hub.config import HubConfig, QuietHoursSection
from hub.delivery.moments import Moments
from hub.delivery.phone import PhoneNotifier
from hub.delivery.quiet_hours import QuietHours
from hub.delivery.rate_limit import RateLimiter
from hub.delivery.router import AWAY_NO_PHONE, SUMMARY_LOOK, DeliveryRouter
from hub.delivery.service import DeliveryService
from hub.events import Channel, Direction, Fate, SignalKind, SignalRecord
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import open_database
from hub.store.holds import SignalLinks
from hub.store.signals import SignalLog
from tests.support.homes import (
    BUTTON_A,
    BUTTON_B,
    HOME_A,
    HOME_B,
    HUB_RADIO_A,
    HUB_RADIO_B,
    hub_config,
    relay_connected,
)
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually

START: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # midday: no quiet hours
ACROSS_TOWN_M: Final = 3000.0
# While presence decides, virtual time passes a step each real tenth of a second: at the real
# rate while adverts must be heard (an arrival is adverts close together), faster while the
# home is silent (a departure is minutes without the wearable).
TICK_S: Final = 0.1
REAL_RATE_S: Final = TICK_S
SILENT_STEP_S: Final = 5.0
STEPS_WITHIN_S: Final = 60.0


def _configs(broker: Broker, air: AirServer, tmp_path: Path) -> tuple[HubConfig, HubConfig]:
    common = {"broker": broker, "air_port": air.port, "notify": []}
    return (
        hub_config(
            me="Alex",
            partner="Sam",
            hub_index=0,
            radio=HUB_RADIO_A,
            data_dir=tmp_path / "a",
            button=BUTTON_A,
            **common,  # type: ignore[arg-type]
        ),
        hub_config(
            me="Sam",
            partner="Alex",
            hub_index=1,
            radio=HUB_RADIO_B,
            data_dir=tmp_path / "b",
            button=BUTTON_B,
            **common,  # type: ignore[arg-type]
        ),
    )


@contextlib.asynccontextmanager
async def _world(tmp_path: Path) -> AsyncIterator[tuple[AirServer, SimButton, SimButton]]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    async with air:
        air.place(HUB_RADIO_A, *HOME_A)
        air.place(HUB_RADIO_B, *HOME_B)
        button_a, button_b = (
            SimButton(
                air=air.address,
                address=address,
                key=key,
                x=home[0] + 2,
                y=home[1],
                state_dir=tmp_path / f"button-{name}",
            )
            for name, (address, key), home in (("a", BUTTON_A, HOME_A), ("b", BUTTON_B, HOME_B))
        )
        # Another button in Sam's hall, not registered at either hub: the home's radio keeps
        # hearing something while Sam is out, so an empty home is not taken for a deaf radio.
        hall = SimButton(
            air=air.address,
            address="C0:FF:EE:00:00:0C",
            key=bytes(range(16, 32)),
            x=HOME_B[0] + 3,
            y=HOME_B[1],
            state_dir=tmp_path / "button-hall",
        )
        async with button_a, button_b, hall:
            yield air, button_a, button_b


async def _until(clock: ManualClock, check: Callable[[], bool], what: str, *, step_s: float) -> None:
    """Let virtual time pass, ``step_s`` each tenth of a real second, until ``check`` holds."""
    try:
        async with asyncio.timeout(STEPS_WITHIN_S):
            while not check():
                clock.advance(step_s)
                await asyncio.sleep(TICK_S)
    except TimeoutError as ex:
        raise AssertionError(f"no {what} within {STEPS_WITHIN_S:.0f} real seconds") from ex


def _received(hub: Hub, signal_id: str) -> SignalRecord | None:
    return next((s for s in hub.recent_signals() if s.id == signal_id), None)


@pytest.mark.slow  # presence must see Sam leave and come back, a restart in between
@pytest.mark.timeout(180)
async def test_a_touch_to_someone_away_with_no_phone_waits_until_they_are_home(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    async with _world(tmp_path) as (air, button_a, button_b):
        config_a, config_b = _configs(mosquitto_broker, air, tmp_path)
        async with open_hub(config_a, clock=clock) as hub_a:
            async with open_hub(config_b, clock=clock) as hub_b:
                await relay_connected(hub_a, hub_b)
                await _until(
                    clock, lambda: hub_b.presence.state("Sam").present, "Sam at home", step_s=REAL_RATE_S
                )
                await button_b.move(HOME_B[0] + ACROSS_TOWN_M, HOME_B[1])
                await _until(
                    clock, lambda: hub_b.presence.has_left("Sam"), "Sam to leave", step_s=SILENT_STEP_S
                )
                await button_a.press("tap")
                sent = await eventually(
                    lambda: [s for s in hub_a.recent_signals() if s.direction is Direction.SENT],
                    what="Alex's touch",
                )
                touch = sent[0]
                await eventually(
                    lambda: ((r := _received(hub_a, touch.id)) is not None and r.fate is Fate.HELD) or None,
                    what="Alex's feed to show it held",
                )
                for hub in (hub_a, hub_b):
                    shown = _received(hub, touch.id)
                    assert shown is not None
                    assert shown.fate is Fate.HELD
                    assert shown.reason == AWAY_NO_PHONE  # not "failed · timeout; no phone configured"
                assert button_b.outputs == []
            # Sam's hub restarts while Sam is away: the touch stays held.
            async with open_hub(config_b, clock=clock) as hub_b:
                await relay_connected(hub_b)
                clock.advance(SILENT_STEP_S)
                await asyncio.sleep(2.0)  # a few presence ticks and delivery polls of the new hub
                again = _received(hub_b, touch.id)
                assert again is not None
                assert (again.fate, again.reason) == (Fate.HELD, AWAY_NO_PHONE)
                assert button_b.outputs == []
                # Sam comes home: presence hears the button, the touch reaches it.
                await button_b.move(HOME_B[0] + 2, HOME_B[1])
                await _until(
                    clock, lambda: hub_b.presence.state("Sam").present, "Sam home again", step_s=REAL_RATE_S
                )
                played = await button_b.wait_for_output(within_s=30)
                assert played.pattern == "thinking_of_you"
                for hub in (hub_a, hub_b):
                    await eventually(
                        lambda h=hub: (
                            (
                                (r := _received(h, touch.id)) is not None  # type: ignore[misc]
                                and r.fate is Fate.DELIVERED
                                and r.channel is Channel.BUTTON
                            )
                            or None
                        ),
                        what="delivered · button on both feeds",
                    )


class RecordingButton:
    """Stands in for the BLE feedback path (on real firmware above): records what it played."""

    def __init__(self) -> None:
        self.played: list[SignalKind] = []

    async def send(self, button: ButtonRecord, kind: SignalKind, on_wait: OnWait | None = None) -> None:
        del button, on_wait
        self.played.append(kind)


async def test_home_in_quiet_hours_means_the_morning_summary(tmp_path: Path) -> None:
    """Sam comes home at 01:00 to a touch held while away: it joins the night's holds and
    arrives in the morning summary, not as a buzz at 01:00."""
    clock = ManualClock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))  # 00:00 in Berlin
    db = open_database(tmp_path)
    registry = ButtonRegistry(db)
    with db.transaction():
        registry.upsert(BUTTON_B[0], "heartline", BUTTON_B[1], "Sam")
    away = True
    button = RecordingButton()
    receipts: list[tuple[str, Fate, str | None]] = []
    service = DeliveryService(
        db=db,
        reach=DeliveryRouter(
            person="Sam",
            partner="Alex",
            registry=registry,
            feedback=cast("FeedbackSender", button),
            phone=PhoneNotifier([]),
            is_away=lambda: away,
        ),
        receipts=lambda ref, fate, channel, reason: receipts.append((ref, fate, reason)),
        clock=clock,
        bus=UpdateBus(),
        moments=Moments(SignalLinks(db), clock, felt_it_window_s=60, shared_s=5),
        limiter=RateLimiter(6, clock),
        quiet=QuietHours.from_config(QuietHoursSection("22:00", "07:00"), "Europe/Berlin"),
        is_home=lambda: not away,
    )
    log = SignalLog(db)
    now = clock.now()
    touch = SignalRecord(
        "t1", Direction.RECEIVED, SignalKind.THINKING_OF_YOU, "Alex", 1, now, Fate.RECEIVED, None, None, now
    )
    with db.transaction():
        log.add(touch)
    try:
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(service.run())
            service.submit(touch)
            # Quiet hours first: held for the morning; at 06:00 (07:00 in Berlin) Sam is still out.
            await eventually(lambda: service_hold(log) == "quiet", what="a quiet-hours hold")
            clock.advance(7 * 3600)
            await eventually(lambda: service_hold(log) == "away", what="held until home")
            assert receipts[-1] == ("t1", Fate.HELD, AWAY_NO_PHONE)
            assert button.played == []
            # Home in the evening after quiet hours started again: the morning summary, again.
            clock.advance(16 * 3600)  # 22:00 UTC: 23:00 in Berlin
            away = False
            await eventually(lambda: service_hold(log) == "quiet", what="folded into the night's holds")
            assert button.played == []
            clock.advance(8 * 3600)  # 07:00 in Berlin
            record = await eventually(
                lambda: ((r := log.get("t1")) is not None and r.fate is Fate.DELIVERED and r) or None,
                what="the morning summary",
            )
            assert "summary of 1" in (record.reason or "")
            assert button.played == [SUMMARY_LOOK]
            runner.cancel()
    except* asyncio.CancelledError:
        pass
    finally:
        db.close()


def service_hold(log: SignalLog) -> str | None:
    """How t1 is held now: "quiet" (until a release time), "away" (until home), else None."""
    record = log.get("t1")
    if record is None or record.fate is not Fate.HELD:
        return None
    return (
        "away"
        if record.reason == AWAY_NO_PHONE
        else "quiet"
        if "quiet hours" in (record.reason or "")
        else None
    )
