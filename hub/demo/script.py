"""A day of scripted life for the demo: the couple's buttons leave and come home, touches go
each way, a long press, and "felt it" replies, played at ``--speed``.

The scripted day has its own clock (hours 0-24); ``clock_scale`` real seconds pass per scripted
hour at speed 1, and every wait is divided by ``speed``. The hubs' felt-it window runs on the
day's clock (:class:`ScriptClock`, given to the hubs by the demo): each wait between beats moves
it on by the whole scripted wait, so a tap half a scripted hour after a touch is not "felt it"
however fast the day plays, while within a beat it runs in real time, as the firmware does (a
reply a few real seconds after the buzz is still felt it). Everything else on the hubs (presence,
timeouts, the times stored and shown) runs on real time: skipping hours there would make every
button look gone. So two waits are not sped up: a touch by one home keeps ``moment_gap_s`` real
seconds from the other home's last touch (closer, and the hubs would call it a shared moment),
and a reply waits for the partner's touch to arrive on its button first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from firmware_sim.button import SimButton, SimButtonError
from firmware_sim.home import SimHome
from hub.clock import SystemClock

_LOGGER = logging.getLogger(__name__)

Action = Literal["arrive", "leave", "visit", "tap", "double_tap", "long_press", "reply"]

# Real seconds per scripted hour at speed 1: at --speed 1 the day takes a day.
CLOCK_SCALE_S: Final = 3600.0
HOME_M: Final = 2.0  # on the table, as the demo starts
AWAY_M: Final = 3000.0  # across town: the hub cannot hear it
# The hubs call touches this close together (real seconds) a shared moment (delivery.shared_moment_s
# is 5 s); the script keeps its touches from the two homes further apart than that.
MOMENT_GAP_S: Final = 6.5
ARRIVAL_WAIT_S: Final = 20.0  # how long a reply waits for the partner's touch to reach its button


class ScriptClock(SystemClock):
    """Real time, moved on by the part of each scripted wait the sped-up day did not wait for
    (its monotonic time only: wall time, stored and shown, stays real)."""

    def __init__(self) -> None:
        self._skipped = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self._skipped

    def skip(self, seconds: float) -> None:
        self._skipped += max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class Beat:
    hour: float  # on the scripted day's clock
    home: str  # "a" or "b"
    action: Action
    says: str


# A touch each way in the morning, both out for the day, an evening together at one home (a
# touch there buzzes the host's button beside them), home again, a long press.
DAY: Final[tuple[Beat, ...]] = (
    Beat(7.0, "a", "tap", "{a} wakes and touches the button: thinking of you"),
    Beat(7.05, "b", "reply", "{b} feels it buzz and touches back: felt it"),
    Beat(7.5, "b", "double_tap", "{b} double-taps before a big day: proud of you"),
    Beat(8.0, "a", "leave", "{a} takes the button to work"),
    Beat(8.5, "b", "leave", "{b} leaves for the day"),
    Beat(17.5, "b", "arrive", "{b} comes home"),
    Beat(18.25, "a", "arrive", "{a} comes home"),
    Beat(18.5, "b", "visit", "{b} goes over to {a}'s for the evening, the button in a pocket"),
    Beat(19.5, "b", "tap", "{b}, beside {a}, touches the button: {a}'s buzzes in the same room"),
    Beat(20.5, "b", "arrive", "{b} walks home"),
    Beat(21.0, "a", "long_press", "{a} holds the button: I need you"),
    Beat(21.05, "b", "reply", "{b} answers at once: felt it"),
)


@dataclass(frozen=True, slots=True)
class Played:
    beat: Beat
    text: str
    ok: bool


def _button(home: SimHome) -> tuple[str, SimButton]:
    button_id = min(home.buttons)
    return button_id, home.buttons[button_id]


async def play_day(
    homes: Mapping[str, SimHome],
    speed: float,
    clock_scale: float = CLOCK_SCALE_S,
    *,
    day: tuple[Beat, ...] = DAY,
    names: Mapping[str, str] | None = None,
    moment_gap_s: float = MOMENT_GAP_S,
    on_beat: Callable[[Played], None] | None = None,
    clock: ScriptClock | None = None,
) -> list[Played]:
    """Play ``day`` once against ``homes`` ("a" and "b"); returns what happened, beat by beat."""
    if speed <= 0:
        raise ValueError("speed must be more than 0")
    who = {home: (names or {}).get(home, home) for home in homes}
    played: list[Played] = []
    last_touch: dict[str, float] = {}  # home -> time.monotonic() of its last touch
    outputs_before: dict[str, int] = {}  # home -> its button's outputs when the partner last touched
    for home in homes.values():  # the day starts with both at home
        await home.place_wearable(_button(home)[0], HOME_M)
    hour = day[0].hour if day else 0.0
    for beat in day:
        scripted_s = max(0.0, beat.hour - hour) * clock_scale
        await asyncio.sleep(scripted_s / speed)
        if clock is not None:  # the hubs' windows see the whole scripted wait
            clock.skip(scripted_s - scripted_s / speed)
        hour = beat.hour
        home = homes[beat.home]
        button_id = _button(home)[0]
        text = beat.says.format(**who)
        ok = True
        if beat.action == "leave":
            await home.place_wearable(button_id, AWAY_M)
        elif beat.action == "arrive":
            await home.place_wearable(button_id, HOME_M)
        elif beat.action == "visit":  # to the other home: its hub knows the visitor's button
            host = next(h for h in homes if h != beat.home)
            await home.place_wearable(button_id, HOME_M + 1.0, at=host)
        else:
            ok = await _touch(homes, beat, last_touch, outputs_before, moment_gap_s)
        step = Played(beat, text, ok)
        _LOGGER.info("%02d:%02d %s%s", int(hour), round(hour % 1 * 60), text, "" if ok else " (missed)")
        if on_beat is not None:
            on_beat(step)
        played.append(step)
    return played


async def _touch(
    homes: Mapping[str, SimHome],
    beat: Beat,
    last_touch: dict[str, float],
    outputs_before: dict[str, int],
    moment_gap_s: float,
) -> bool:
    """One touch on ``beat.home``'s button; a reply first waits for the partner's touch to arrive."""
    home = homes[beat.home]
    button_id, button = _button(home)
    ok = True
    if beat.action == "reply":
        ok = await _wait_for_arrival(button, outputs_before.get(beat.home, len(button.outputs)))
    other = [t for h, t in last_touch.items() if h != beat.home]
    if other:
        await asyncio.sleep(max(0.0, max(other) + moment_gap_s - time.monotonic()))
    for partner in homes:
        if partner != beat.home:
            outputs_before[partner] = len(_button(homes[partner])[1].outputs)
    gesture = "tap" if beat.action == "reply" else beat.action
    try:
        await home.press(button_id, gesture)
    except SimButtonError as ex:  # the firmware saw no gesture: say so, the day goes on
        _LOGGER.warning("scripted %s on %s did not register: %s", gesture, button_id, ex)
        ok = False
    last_touch[beat.home] = time.monotonic()
    return ok


async def _wait_for_arrival(button: SimButton, before: int) -> bool:
    """Wait until the partner's touch has buzzed this button (its output count passes ``before``)."""
    try:
        await button.wait_for_output(count=before + 1, within_s=ARRIVAL_WAIT_S)
    except SimButtonError:
        return False
    return True
