"""Run a scenario in virtual time and report ground truth next to what the hubs logged.

One process, one :class:`~firmware_sim.scenario.virtual_time.VirtualTimeLoop`: the air server,
every device (the unmodified firmware on the CPython shims, :class:`SimButton`) and each
home's hub ear (the hub's real bleak scanner backend, ``AdvertIngest`` and
``FeedbackSender``). The runner schedules what people do (where they are, when they touch)
from the scenario's seeded RNG, plays each touch as a noisy human trace on the device's pad,
and lets the hubs react: a touch heard by a hub is sent as haptic feedback to the partner's
device through the partner's hub, as the relay would. Slow (idle/presence) adverts are put on
the air once a minute of virtual time rather than every second; the radio's exact activity is
logged separately for the energy model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.energy.model import EnergyEstimate, SleepCycles, estimate
from firmware_sim.scenario.config import GESTURES, Device, Person, Scenario
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.scenario.touch_model import person as human_touch
from firmware_sim.scenario.virtual_time import VirtualClock, run_virtual
from hub.errors import FeedbackError
from hub.events import DEFAULT_GESTURE_MEANINGS, SignalKind, TouchEvent

_LOGGER = logging.getLogger(__name__)

# Away means out of every hub's reach: 20 km east of the owner's home.
AWAY_OFFSET_M: Final = 20_000.0
# Idle/presence adverts reach the air once per virtual minute (the energy model counts them all).
SLOW_REPEAT_S: Final = 60.0
# Hub radios have Raspberry Pi-like addresses (B8:27:EB is the Pi Foundation's OUI).
HUB_RADIO_PREFIX: Final = "B8:27:EB:00:00:"
SCHEDULE_STEP_S: Final = 300  # presence changes are applied on a 5-minute grid
SETTLE_S: Final = 30.0  # virtual time after the last event for bursts and feedback to finish


@dataclass(slots=True)
class DeviceReport:
    name: str
    owner: str
    kind: str
    touches_made: Counter[str] = field(default_factory=Counter)
    touches_in_range: int = 0
    recognised: Counter[str] = field(default_factory=Counter)
    event_adverts: int = 0
    hub_events: Counter[str] = field(default_factory=Counter)
    feedback_sent: int = 0
    feedback_failed: int = 0
    feedback_played: int = 0
    power: str = "puck"
    feedback_latency_s: list[float] = field(default_factory=list)  # send to confirmed, each
    energy: EnergyEstimate | None = None

    def latency_summary(self) -> dict[str, float] | None:
        if not self.feedback_latency_s:
            return None
        ordered = sorted(self.feedback_latency_s)
        return {
            "median_s": round(ordered[len(ordered) // 2], 1),
            "p95_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
            "max_s": round(ordered[-1], 1),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "kind": self.kind,
            "touches_made": dict(self.touches_made),
            "touches_in_range": self.touches_in_range,
            "recognised_by_firmware": dict(self.recognised),
            "event_adverts": self.event_adverts,
            "hub_events": dict(self.hub_events),
            "feedback_sent_to_it": self.feedback_sent,
            "feedback_failed": self.feedback_failed,
            "feedback_played": self.feedback_played,
            "power": self.power,
            "feedback_latency": self.latency_summary(),
            "energy": self.energy.as_dict() if self.energy else None,
        }


@dataclass(slots=True)
class ScenarioReport:
    name: str
    virtual_days: float
    real_seconds: float
    devices: list[DeviceReport]
    adverts_on_air: int
    adverts_heard: int
    hub_rejections: dict[str, dict[str, int]]
    presence_hours: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "virtual_days": self.virtual_days,
            "real_seconds": round(self.real_seconds, 2),
            "devices": [d.as_dict() for d in self.devices],
            "air": {"adverts_sent": self.adverts_on_air, "adverts_heard": self.adverts_heard},
            "hub_rejections": self.hub_rejections,
            "presence_hours_at_home": self.presence_hours,
        }


def where(person: Person, at: datetime) -> str:
    """'away', 'asleep' or 'home' for a person at a local moment."""
    moment = at.timetz().replace(tzinfo=None)
    if person.away is not None and at.weekday() in person.away_days and person.away.contains(moment):
        return "away"
    if person.asleep is not None and person.asleep.contains(moment):
        return "asleep"
    return "home"


def plan_touches(scenario: Scenario, rng: random.Random) -> list[tuple[float, Device, str]]:
    """(virtual s, device, intent) for every touch: touches_per_day at awake moments."""
    plan: list[tuple[float, Device, str]] = []
    total_s = scenario.days * 86400
    for person in scenario.people:
        devices = [d for d in scenario.devices if d.owner == person.name]
        if not devices or person.touches_per_day == 0:
            continue
        names = [g for g in GESTURES if person.gestures.get(g, 0) > 0]
        weights = [person.gestures[g] for g in names]
        for day in range(int(scenario.days + 0.999)):
            made = 0
            attempts = 0
            while made < person.touches_per_day and attempts < 10_000:
                attempts += 1
                t = (day + rng.random()) * 86400
                if t >= total_s - SETTLE_S:
                    continue
                state = where(person, scenario.start + timedelta(seconds=t))
                usable = [d for d in devices if d.kind == "wearable" or state == "home"]
                if state == "asleep" or not usable:
                    continue
                plan.append((t, rng.choice(usable), rng.choices(names, weights)[0]))
                made += 1
    plan.sort(key=lambda item: item[0])
    return plan


def run_scenario(scenario: Scenario, *, work_dir: Path | None = None) -> ScenarioReport:
    """Run the whole scenario in virtual time; returns the report."""
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hl-sim-")))
        return run_virtual(_run(scenario, work_dir))


async def _run(scenario: Scenario, work_dir: Path) -> ScenarioReport:  # noqa: C901, PLR0915 - one world's wiring, read top to bottom
    import time  # noqa: PLC0415 - real seconds, only for the report

    real_start = time.monotonic()
    rng = random.Random(scenario.seed)
    clock = VirtualClock(scenario.start)
    conditions = RadioConditions(
        path_loss_exponent=scenario.radio.path_loss_exponent,
        noise_sigma_db=scenario.radio.noise_sigma_db,
        advert_loss=scenario.radio.advert_loss,
        rng=random.Random(scenario.seed + 1),
    )
    air = AirServer(conditions)
    radios = {h.name: f"{HUB_RADIO_PREFIX}{i + 1:02X}" for i, h in enumerate(scenario.homes)}
    for home in scenario.homes:
        air.place(radios[home.name], *home.hub)
    reports = {d.address: DeviceReport(d.name, d.owner, d.kind, power=d.power) for d in scenario.devices}
    by_address = {d.address: d for d in scenario.devices}
    pending: set[asyncio.Task[None]] = set()
    ears: dict[str, HubEar] = {}
    buttons: dict[str, SimButton] = {}

    def position(device: Device, at: datetime) -> tuple[float, float]:
        owner = scenario.person(device.owner)
        hub = scenario.home(owner.home).hub
        if device.kind == "wearable" and where(owner, at) == "away":
            return (hub[0] + AWAY_OFFSET_M, hub[1])
        return (hub[0] + device.distance_m, hub[1])

    def on_event(event: TouchEvent) -> None:
        reports[event.address].hub_events[event.gesture.value] += 1
        sender = by_address[event.address]
        partners = [p for p in scenario.people if p.name != sender.owner]
        for partner in partners:
            for target in (d for d in scenario.devices if d.owner == partner.name):
                task = asyncio.create_task(_feedback(target, DEFAULT_GESTURE_MEANINGS[event.gesture]))
                pending.add(task)
                task.add_done_callback(pending.discard)

    async def _feedback(target: Device, kind: SignalKind) -> None:
        ear = ears[scenario.person(target.owner).home]
        reports[target.address].feedback_sent += 1
        began = asyncio.get_running_loop().time()
        try:
            await ear.send_feedback(target.address, kind)
        except FeedbackError:
            reports[target.address].feedback_failed += 1
        else:
            reports[target.address].feedback_latency_s.append(asyncio.get_running_loop().time() - began)

    async with air, contextlib.AsyncExitStack() as stack:
        for home in scenario.homes:
            ears[home.name] = await stack.enter_async_context(
                open_hub_ear(
                    air.address, radios[home.name], work_dir / f"hub-{home.name}", clock, on_event=on_event
                )
            )
        for device in scenario.devices:
            ears[scenario.person(device.owner).home].register(device.address, device.key, device.owner)
            x, y = position(device, scenario.start)
            button = SimButton(
                air=air.address,
                address=device.address,
                key=device.key,
                x=x,
                y=y,
                state_dir=work_dir / f"device-{device.name}",
                slow_repeat_s=SLOW_REPEAT_S,
                battery_mv=3900,
                power_mode=device.power,
                listen_period_s=device.listen_period_s,
            )
            await stack.enter_async_context(button)
            buttons[device.address] = button
        presence = await _drive(scenario, rng, air=air, buttons=buttons, reports=reports, position=position)
        if pending:
            await asyncio.wait(pending, timeout=SETTLE_S)
        loop_now = asyncio.get_running_loop().time()
        for address, button in buttons.items():
            report = reports[address]
            report.recognised.update(button.gestures)
            report.event_adverts = len(button.adverts)
            report.feedback_played = len(button.outputs)
            button.radio_activity.close(loop_now)
            button.power.close(loop_now)
            device = by_address[address]
            cycles = (
                SleepCycles(button.power.awake_s, button.power.boots, device.listen_period_s)
                if device.power == "wearable"
                else None
            )
            report.energy = estimate(
                battery=device.battery,
                duration_s=loop_now,
                activity=button.radio_activity,
                motor=button.motor_trace,
                led=button.led_trace,
                cpu_wakes=button.cpu_wakes,
                sleep=cycles,
            )
        rejections = {name: dict(ear.side.ingest.rejected) for name, ear in ears.items()}
    return ScenarioReport(
        scenario.name,
        scenario.days,
        time.monotonic() - real_start,
        list(reports.values()),
        air.adverts_sent,
        air.adverts_heard,
        rejections,
        presence,
    )


class _DayProgress:
    """One log line as each simulated day begins, for the person watching a long run."""

    def __init__(self, days: float) -> None:
        self.days = days
        self.shown = -1

    def at(self, t: float) -> None:
        day = int(t // 86400)
        if day != self.shown:
            self.shown = day
            _LOGGER.info("simulated day %d of %g", day + 1, self.days)


async def _drive(
    scenario: Scenario,
    rng: random.Random,
    *,
    air: AirServer,
    buttons: dict[str, SimButton],
    reports: dict[str, DeviceReport],
    position: Any,
) -> dict[str, float]:
    """Walk virtual time: move wearables with their owners, play every planned touch."""
    loop = asyncio.get_running_loop()
    total_s = scenario.days * 86400
    touches = plan_touches(scenario, rng)
    presence = dict.fromkeys((p.name for p in scenario.people), 0.0)
    moves: list[tuple[float, None]] = [(float(t), None) for t in range(0, int(total_s), SCHEDULE_STEP_S)]
    timeline = sorted(
        [(t, 0, None, "") for t, _ in moves] + [(t, 1, d, i) for t, d, i in touches],
        key=lambda item: (item[0], item[1]),
    )
    progress = _DayProgress(scenario.days)
    for t, kind, device, intent in timeline:
        delay = t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        at = scenario.start + timedelta(seconds=t)
        progress.at(t)
        if kind == 0:
            for person in scenario.people:
                if where(person, at) != "away":
                    presence[person.name] += SCHEDULE_STEP_S / 3600
            for address, button in buttons.items():
                device_cfg = next(d for d in scenario.devices if d.address == address)
                x, y = position(device_cfg, at)
                if air.position(address) != (x, y):
                    await button.move(x, y)
            continue
        assert device is not None
        report = reports[device.address]
        report.touches_made[intent] += 1
        owner = scenario.person(device.owner)
        if where(owner, at) != "away":
            report.touches_in_range += 1
        steps = tuple(human_touch(rng, intent))  # type: ignore[arg-type]
        await buttons[device.address].play_trace(steps)
    remaining = total_s - loop.time()
    if remaining > 0:
        await asyncio.sleep(remaining)
    return {name: round(hours, 1) for name, hours in presence.items()}


def format_report(report: ScenarioReport) -> str:
    lines = [
        (
            f"Scenario {report.name!r}: {report.virtual_days:g} virtual days in "
            f"{report.real_seconds:.1f} s real time"
        ),
        "",
        (
            f"{'device':<14} {'touches':>7} {'in range':>8} {'firmware':>8} {'adverts':>7} "
            f"{'hub logged':>10} {'fb sent':>7} {'fb failed':>9} {'fb played':>9}"
        ),
    ]
    lines.extend(
        f"{d.name:<14} {sum(d.touches_made.values()):>7} {d.touches_in_range:>8} "
        f"{sum(d.recognised.values()):>8} {d.event_adverts:>7} {sum(d.hub_events.values()):>10} "
        f"{d.feedback_sent:>7} {d.feedback_failed:>9} {d.feedback_played:>9}"
        for d in report.devices
    )
    lines.append("")
    for d in report.devices:
        made = ", ".join(f"{k} {v}" for k, v in sorted(d.touches_made.items()))
        logged = ", ".join(f"{k} {v}" for k, v in sorted(d.hub_events.items()))
        lines.append(f"{d.name}: made [{made}]; hub logged [{logged}]")
    lines.append(f"air: {report.adverts_on_air} advert messages sent, {report.adverts_heard} heard by hubs")
    lines.append(f"presence at home (h): {report.presence_hours}")
    lines.append(f"hub rejections by reason: {report.hub_rejections}")
    lines.append("")
    for d in report.devices:
        if d.energy is not None:
            lines.append(f"energy, {d.name} ({d.power} power):")
            lines.extend("  " + line for line in d.energy.lines())
            latency = d.latency_summary()
            if latency is not None:
                lines.append(
                    f"  feedback latency (hub sends -> button confirms): median {latency['median_s']:g} s, "
                    f"95% within {latency['p95_s']:g} s, max {latency['max_s']:g} s"
                )
    return "\n".join(lines)
