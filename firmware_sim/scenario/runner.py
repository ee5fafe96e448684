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
import functools
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
from firmware_sim.scenario.hand_on import HandOn
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.scenario.touch_model import person as human_touch
from firmware_sim.scenario.truth import Timeline, compare
from firmware_sim.scenario.virtual_time import VirtualClock, run_virtual
from hub.errors import FeedbackError
from hub.events import DEFAULT_GESTURE_MEANINGS, SignalKind, TouchEvent
from hub.presence.service import PresenceService
from hub.store.database import open_database

_LOGGER = logging.getLogger(__name__)

# Away means out of every hub's reach: 20 km east of the owner's home.
AWAY_OFFSET_M: Final = 20_000.0
# Idle/presence adverts reach the air once per virtual minute (the energy model counts them all).
SLOW_REPEAT_S: Final = 60.0
# Hub radios have Raspberry Pi-like addresses (B8:27:EB is the Pi Foundation's OUI).
HUB_RADIO_PREFIX: Final = "B8:27:EB:00:00:"
SCHEDULE_STEP_S: Final = 300  # presence changes are applied on a 5-minute grid
SETTLE_S: Final = 30.0  # virtual time after the last event for bursts and feedback to finish
# Each home's presence service decides departures on this beat, as a running hub does.
PRESENCE_TICK_S: Final = 1.0
# A touch heard this long or more after it was made was kept on the button until a hub heard it.
LIVE_S: Final = 60.0


@dataclass(slots=True)
class DeviceReport:
    name: str
    owner: str
    kind: str
    touches_made: Counter[str] = field(default_factory=Counter)
    touches_in_range: int = 0
    touches_delivered: int = 0  # its feedback played on at least one of the partner's devices
    # Heard, but felt by none of the partner's devices: each partner device was away from every
    # hub (no phone carries it further), or in range but its feedback failed.
    not_felt_away: int = 0
    not_felt_failed: int = 0
    touches_already_sent: int = 0  # heard again by a host's hub after the owner's hub sent it
    touches_heard_late: int = 0  # heard LIVE_S or more after the touch (kept on the button)
    made_at: list[float] = field(default_factory=list)
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

    def touches(self) -> dict[str, Any]:
        """Made / heard / delivered / lost with reasons, from what the hubs heard.

        A touch made out of range that a hub heard later was kept on the button; one never heard
        is lost out of range. Counts, not per-touch matching: a device's touches are heard in the
        order they were made, so the counts say the same."""
        made = sum(self.touches_made.values())
        heard = sum(self.hub_events.values())
        out_of_range = made - self.touches_in_range
        kept = min(self.touches_heard_late, out_of_range)
        heard_live = heard - kept
        lost_out = out_of_range - kept
        lost_in = max(0, self.touches_in_range - heard_live)
        not_felt = {"away, no phone": self.not_felt_away, "feedback failed": self.not_felt_failed}
        # Every touch made is delivered, not felt (with why), lost, or still on its way when
        # the run ended; whatever is left over is shown, never hidden.
        on_the_way = heard - self.touches_delivered - sum(not_felt.values())
        return {
            "made": made,
            "made_in_range": self.touches_in_range,
            "made_out_of_range": out_of_range,
            "heard_by_a_hub": heard,
            "kept_on_button": kept,
            "delivered": self.touches_delivered,
            "not_felt": sum(not_felt.values()),
            "not_felt_reasons": not_felt,
            "on_the_way_at_end": on_the_way,
            "lost": lost_out + lost_in,
            "lost_reasons": {"out of range": lost_out, "in range, not heard": lost_in},
            "unaccounted": made - heard - (lost_out + lost_in),
            "heard_again_already_sent": self.touches_already_sent,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "kind": self.kind,
            "touches_made": dict(self.touches_made),
            "touches_in_range": self.touches_in_range,
            "touches": self.touches(),
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
    truth: dict[str, Any] = field(default_factory=dict)  # truth.compare: the hubs beside the truth

    def touches_by_person(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for device in self.devices:
            mine = out.setdefault(device.owner, {})
            for key, value in device.touches().items():
                if isinstance(value, dict):
                    reasons = mine.setdefault(key, {})
                    for reason, n in value.items():
                        reasons[reason] = reasons.get(reason, 0) + n
                else:
                    mine[key] = mine.get(key, 0) + value
        return out

    def as_dict(self) -> dict[str, Any]:
        people = {
            name: {**facts, "touches": self.touches_by_person().get(name, {})}
            for name, facts in self.truth.get("people", {}).items()
        }
        return {
            "scenario": self.name,
            "virtual_days": self.virtual_days,
            "real_seconds": round(self.real_seconds, 2),
            "people": people,
            "couple": self.truth.get("couple", {}),
            "arrival_delay_median_s": self.truth.get("arrival_delay_median_s"),
            "departure_delay_median_s": self.truth.get("departure_delay_median_s"),
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


def location(scenario: Scenario, person: Person, at: datetime) -> str | None:
    """The home ``person`` is at (a visit's host, or their own), or None: near no hub."""
    visit = next((v for v in scenario.visits if v.person == person.name and v.covers(at)), None)
    if visit is not None:
        return visit.to
    return None if where(person, at) == "away" else person.home


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
                at = scenario.start + timedelta(seconds=t)
                state = where(person, at)
                at_home = location(scenario, person, at) == person.home
                usable = [d for d in devices if d.kind == "wearable" or (state == "home" and at_home)]
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

    def device_home(device: Device, at: datetime) -> str | None:
        owner = scenario.person(device.owner)
        return location(scenario, owner, at) if device.kind == "wearable" else owner.home

    def position(device: Device, at: datetime) -> tuple[float, float]:
        owner = scenario.person(device.owner)
        home = device_home(device, at)
        if home is None:
            hub = scenario.home(owner.home).hub
            return (hub[0] + AWAY_OFFSET_M, hub[1])
        hub = scenario.home(home).hub
        return (hub[0] + device.distance_m, hub[1])

    hand_on = HandOn(lambda home: ears[home].side.ingest)

    def on_event(heard_at: str, event: TouchEvent) -> None:
        report = reports[event.address]
        sender = by_address[event.address]
        if not hand_on.signal(heard_at, scenario.person(sender.owner).home, event):
            report.touches_already_sent += 1  # one press, one signal: its hub sent it already
            return
        report.hub_events[event.gesture.value] += 1
        now_s = asyncio.get_running_loop().time()
        if not any(now_s - LIVE_S < made <= now_s for made in report.made_at):
            report.touches_heard_late += 1  # no touch of this device just now: one it kept
        partners = [p for p in scenario.people if p.name != sender.owner]
        targets = [d for p in partners for d in scenario.devices if d.owner == p.name]
        task = asyncio.create_task(_deliver(report, targets, DEFAULT_GESTURE_MEANINGS[event.gesture]))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def _deliver(sender: DeviceReport, targets: list[Device], kind: SignalKind) -> None:
        at = clock.now()
        reachable = [device_home(target, at) is not None for target in targets]
        played = await asyncio.gather(*(_feedback(target, kind) for target in targets))
        if any(played):
            sender.touches_delivered += 1
        elif not any(reachable):
            sender.not_felt_away += 1  # every partner device away from every hub
        else:
            sender.not_felt_failed += 1

    async def _feedback(target: Device, kind: SignalKind) -> bool:
        # The partner's hub reaches a device where it is: a visiting wearable through the host's.
        at = clock.now()
        ear = ears[device_home(target, at) or scenario.person(target.owner).home]
        reports[target.address].feedback_sent += 1
        began = asyncio.get_running_loop().time()
        try:
            await ear.send_feedback(target.address, kind)
        except FeedbackError:
            reports[target.address].feedback_failed += 1
            return False
        reports[target.address].feedback_latency_s.append(asyncio.get_running_loop().time() - began)
        return True

    timeline = Timeline()
    wearables: dict[str, list[str]] = {p.name: [] for p in scenario.people}
    for device in scenario.devices:
        if device.kind == "wearable":  # a button stays home: it says nothing of where its owner is
            wearables[device.owner].append(device.address)
    presences: dict[str, PresenceService] = {}

    async with air, contextlib.AsyncExitStack() as stack:
        for home in scenario.homes:
            db = stack.enter_context(contextlib.closing(open_database(work_dir / f"presence-{home.name}")))
            presences[home.name] = PresenceService(db, clock, wearables, hub=home.name)
            ears[home.name] = await stack.enter_async_context(
                open_hub_ear(
                    air.address,
                    radios[home.name],
                    work_dir / f"hub-{home.name}",
                    clock,
                    on_event=functools.partial(on_event, home.name),
                    listeners=(presences[home.name].on_advert,),
                )
            )
        for device in scenario.devices:
            # The hubs share their people's wearables, so a visiting one is known at the host's.
            homes = (
                [h.name for h in scenario.homes]
                if device.kind == "wearable"
                else [scenario.person(device.owner).home]
            )
            for home_name in homes:
                ears[home_name].register(device.address, device.key, device.owner)
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
        watch = asyncio.create_task(_watch_presence(presences, timeline))
        presence = await _drive(
            scenario, rng, air=air, buttons=buttons, reports=reports, position=position, timeline=timeline
        )
        if pending:
            await asyncio.wait(pending, timeout=SETTLE_S)
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
        end_s = asyncio.get_running_loop().time()
        for home_name, service in presences.items():
            for session in service.store.sessions(hub=home_name):
                left = session.left_at or clock.now()
                timeline.sessions.setdefault((session.person, home_name), []).append(
                    (
                        (session.arrived_at - scenario.start).total_seconds(),
                        min(end_s, (left - scenario.start).total_seconds()),
                    )
                )
        truth = compare(
            timeline,
            {p.name: p.home for p in scenario.people},
            [h.name for h in scenario.homes],
            end_s=scenario.days * 86400,
            days=scenario.days,
        )
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
        truth,
    )


async def _watch_presence(presences: dict[str, PresenceService], timeline: Timeline) -> None:
    """Each home's presence beat, as in a running hub; every change of state is noted."""
    loop = asyncio.get_running_loop()
    last: dict[tuple[str, str], bool] = {}
    while True:
        await asyncio.sleep(PRESENCE_TICK_S)
        now = loop.time()
        for home, service in presences.items():
            service.tick()
            for state in service.states():
                key = (state.person, home)
                if last.get(key, False) != state.present:
                    last[key] = state.present
                    timeline.changed(state.person, home, now, state.present)


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
    timeline: Timeline,
) -> dict[str, float]:
    """Walk virtual time: move wearables with their owners, play every planned touch."""
    loop = asyncio.get_running_loop()
    total_s = scenario.days * 86400
    touches = plan_touches(scenario, rng)
    presence = dict.fromkeys((p.name for p in scenario.people), 0.0)
    moves: list[tuple[float, None]] = [(float(t), None) for t in range(0, int(total_s), SCHEDULE_STEP_S)]
    schedule = sorted(
        [(t, 0, None, "") for t, _ in moves] + [(t, 1, d, i) for t, d, i in touches],
        key=lambda item: (item[0], item[1]),
    )
    progress = _DayProgress(scenario.days)
    for t, kind, device, intent in schedule:
        delay = t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        at = scenario.start + timedelta(seconds=t)
        progress.at(t)
        if kind == 0:
            for person in scenario.people:
                home = location(scenario, person, at)
                timeline.place(person.name, home, t, SCHEDULE_STEP_S)
                if home == person.home:
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
        report.made_at.append(t)
        owner = scenario.person(device.owner)
        if device.kind == "button" or location(scenario, owner, at) is not None:
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
    lines.extend(["", *truth_table(report)])
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


def _seconds(value: object) -> str:
    return "-" if value is None else f"{value:g} s"


def truth_table(report: ScenarioReport) -> list[str]:
    """The hubs' answers beside the truth, one row per person and one for the couple."""
    data = report.as_dict()
    lines = [
        "the hubs' answers beside the truth:",
        (
            f"{'person':<10} {'home h (hub)':>12} {'home h (true)':>13} {'spurious':>8} "
            f"{'arrive (median)':>15} {'leave (median)':>14} {'missed arr/dep':>14}"
        ),
    ]
    for name, facts in data["people"].items():
        missed = facts["missed"]
        lines.append(
            f"{name:<10} {facts['presence_hours_measured']:>12g} {facts['presence_hours_true']:>13g} "
            f"{facts['spurious_sessions']:>8} {_seconds(facts['arrival_delay_median_s']):>15} "
            f"{_seconds(facts['departure_delay_median_s']):>14} "
            f"{missed['arrivals']:>6}/{missed['departures']:<7}"
        )
        for home, visit in facts["visits"].items():
            lines.append(
                f"  visiting {home}: {visit['hours_measured']:g} h by the hub, {visit['hours_true']:g} h true"
            )
    couple = data["couple"]
    lines.append(
        f"together ({' & '.join(couple.get('people', []))}): {couple.get('together_hours_measured', 0):g} h "
        f"by the hubs, {couple.get('together_hours_true', 0):g} h true"
    )
    lines.append("")
    lines.append(
        f"{'touches':<10} {'made':>5} {'in range':>8} {'away':>5} {'heard':>5} {'kept':>5} "
        f"{'delivered':>9} {'not felt':>8} {'lost':>5}  not felt / lost because"
    )
    for name, touches in data["people"].items():
        t = touches["touches"]
        if not t:
            continue
        why = {
            **{f"not felt: {k}": n for k, n in t["not_felt_reasons"].items()},
            "on the way at the end": t["on_the_way_at_end"],
            **{f"lost: {k}": n for k, n in t["lost_reasons"].items()},
            "unaccounted": t["unaccounted"],
        }
        reasons = ", ".join(f"{k} {n}" for k, n in why.items() if n) or "-"
        lines.append(
            f"{name:<10} {t['made']:>5} {t['made_in_range']:>8} {t['made_out_of_range']:>5} "
            f"{t['heard_by_a_hub']:>5} {t['kept_on_button']:>5} {t['delivered']:>9} {t['not_felt']:>8} "
            f"{t['lost']:>5}  {reasons}"
        )
    return lines
