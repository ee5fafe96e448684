"""Scenario files (TOML) -> frozen dataclasses; every error names its key, in one line.

    [scenario]  name, start (ISO 8601 with offset), days, seed
    [radio]     noise_sigma_db, advert_loss, path_loss_exponent          (all optional)
    [[homes]]   name, hub = [x, y]
    [[people]]  name, home, touches_per_day,
                gestures = {tap = 0.7, double_tap = 0.2, long_press = 0.1},
                asleep = "23:00-07:00", away = "09:00-17:00", away_days = ["mon", ...]
    [[devices]] name, kind = "wearable" | "button", owner, distance_m,
                battery = "lipo-500" | "cr2032", address (optional), key (optional, hex),
                power = "wearable" | "puck" (default: a wearable deep-sleeps, a button listens
                always), listen_period_s (wearable power only, default 60)
    [[visits]]  person, to (a home's name), from, until: daily ("19:00", "23:00"; may wrap
                past midnight) or dated (ISO 8601 datetimes with offset, once)

A wearable goes where its owner goes (away means far from every hub); a button stays at home,
``distance_m`` from the hub, and is only touched when its owner is home and awake. A visit
puts its person (and their wearables) at the host's home for its span, whatever their own
schedule says; asleep still means asleep.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final, Literal

DeviceKind = Literal["wearable", "button"]
PowerMode = Literal["wearable", "puck"]
POWER_MODES: Final = ("wearable", "puck")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GESTURES: Final = ("tap", "double_tap", "long_press")
BATTERIES: Final = ("lipo-500", "cr2032")


class ScenarioError(ValueError):
    """A scenario file is invalid; ``key`` says where."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Window:
    """A daily time window; may wrap past midnight (23:00-07:00)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class Radio:
    noise_sigma_db: float = 4.0
    advert_loss: float = 0.0
    path_loss_exponent: float = 2.5


@dataclass(frozen=True, slots=True)
class Home:
    name: str
    hub: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    home: str
    touches_per_day: int
    gestures: dict[str, float]
    asleep: Window | None
    away: Window | None
    away_days: frozenset[int]


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    kind: DeviceKind
    owner: str
    distance_m: float
    battery: str
    address: str
    key: bytes
    power: PowerMode = "puck"
    listen_period_s: int = 60


@dataclass(frozen=True, slots=True)
class Visit:
    """``person`` at home ``to``: every day inside ``daily``, or once from ``start`` to ``end``."""

    person: str
    to: str
    daily: Window | None = None
    start: datetime | None = None
    end: datetime | None = None

    def covers(self, at: datetime) -> bool:
        if self.daily is not None:
            return self.daily.contains(at.timetz().replace(tzinfo=None))
        assert self.start is not None
        assert self.end is not None
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    start: datetime
    days: float
    seed: int
    radio: Radio
    homes: tuple[Home, ...]
    people: tuple[Person, ...]
    devices: tuple[Device, ...]
    visits: tuple[Visit, ...] = ()

    def home(self, name: str) -> Home:
        return next(h for h in self.homes if h.name == name)

    def person(self, name: str) -> Person:
        return next(p for p in self.people if p.name == name)


def load_scenario(path: Path) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as ex:
        raise ScenarioError(str(path), f"cannot read: {ex.strerror}") from ex
    except tomllib.TOMLDecodeError as ex:
        raise ScenarioError(str(path), f"not valid TOML: {ex}") from ex
    return parse_scenario(raw)


def parse_scenario(raw: dict[str, Any]) -> Scenario:
    head = _table(raw, "scenario")
    start = _get(head, "scenario.start", str, "2025-03-03T00:00:00+00:00")
    try:
        start_at = datetime.fromisoformat(start)
    except ValueError as ex:
        raise ScenarioError("scenario.start", "must be ISO 8601, e.g. 2025-03-03T00:00:00+00:00") from ex
    if start_at.tzinfo is None:
        raise ScenarioError("scenario.start", "needs a UTC offset, e.g. +00:00")
    days = float(_get(head, "scenario.days", (int, float), 7))
    if not 0 < days <= 366:
        raise ScenarioError("scenario.days", "must be between 0 and 366")
    seed = _get(head, "scenario.seed", int, 1)
    radio_raw = _table(raw, "radio", required=False)
    radio = Radio(
        float(_get(radio_raw, "radio.noise_sigma_db", (int, float), 4.0)),
        float(_get(radio_raw, "radio.advert_loss", (int, float), 0.0)),
        float(_get(radio_raw, "radio.path_loss_exponent", (int, float), 2.5)),
    )
    if not 0 <= radio.advert_loss < 1:
        raise ScenarioError("radio.advert_loss", "must be a probability below 1")
    homes = tuple(_home(h, f"homes[{i}]") for i, h in enumerate(_list(raw, "homes")))
    home_names = {h.name for h in homes}
    people = tuple(_person(p, f"people[{i}]", home_names) for i, p in enumerate(_list(raw, "people")))
    names = {p.name for p in people}
    devices = tuple(_device(d, f"devices[{i}]", names, seed) for i, d in enumerate(_list(raw, "devices")))
    if len({d.address for d in devices}) != len(devices):
        raise ScenarioError("devices", "addresses must be unique")
    visits_raw = raw.get("visits", [])
    if not isinstance(visits_raw, list):
        raise ScenarioError("visits", "must be [[visits]] tables")
    people_homes = {p.name: p.home for p in people}
    visits = tuple(_visit(v, f"visits[{i}]", people_homes, home_names) for i, v in enumerate(visits_raw))
    return Scenario(
        _get(head, "scenario.name", str, "scenario"),
        start_at,
        days,
        seed,
        radio,
        homes,
        people,
        devices,
        visits,
    )


def _home(raw: Any, key: str) -> Home:
    hub = _get(raw, f"{key}.hub", list, [0.0, 0.0])
    if len(hub) != 2 or not all(isinstance(v, int | float) for v in hub):
        raise ScenarioError(f"{key}.hub", "must be [x, y] in metres")
    return Home(_get(raw, f"{key}.name", str), (float(hub[0]), float(hub[1])))


def _person(raw: Any, key: str, homes: set[str]) -> Person:
    home = _get(raw, f"{key}.home", str)
    if home not in homes:
        raise ScenarioError(f"{key}.home", f"no home named {home!r}")
    gestures = _get(raw, f"{key}.gestures", dict, {"tap": 0.7, "double_tap": 0.2, "long_press": 0.1})
    for name, weight in gestures.items():
        if name not in GESTURES or not isinstance(weight, int | float) or weight < 0:
            raise ScenarioError(f"{key}.gestures.{name}", f"must be one of {GESTURES} with a weight >= 0")
    days = _get(raw, f"{key}.away_days", list, list(WEEKDAYS[:5]))
    for day in days:
        if day not in WEEKDAYS:
            raise ScenarioError(f"{key}.away_days", f"{day!r} is not one of {WEEKDAYS}")
    touches = _get(raw, f"{key}.touches_per_day", int, 20)
    if not 0 <= touches <= 1000:
        raise ScenarioError(f"{key}.touches_per_day", "must be 0..1000")
    return Person(
        _get(raw, f"{key}.name", str),
        home,
        touches,
        {k: float(v) for k, v in gestures.items()},
        _window(raw, f"{key}.asleep"),
        _window(raw, f"{key}.away"),
        frozenset(WEEKDAYS.index(d) for d in days),
    )


def _device(raw: Any, key: str, people: set[str], seed: int) -> Device:
    name = _get(raw, f"{key}.name", str)
    kind = _get(raw, f"{key}.kind", str, "wearable")
    if kind not in ("wearable", "button"):
        raise ScenarioError(f"{key}.kind", "must be 'wearable' or 'button'")
    owner = _get(raw, f"{key}.owner", str)
    if owner not in people:
        raise ScenarioError(f"{key}.owner", f"no person named {owner!r}")
    battery = _get(raw, f"{key}.battery", str, "lipo-500" if kind == "wearable" else "cr2032")
    if battery not in BATTERIES:
        raise ScenarioError(f"{key}.battery", f"must be one of {BATTERIES}")
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    default_address = "C0:" + ":".join(f"{b:02X}" for b in digest[:5])
    address = _get(raw, f"{key}.address", str, default_address).upper()
    key_hex = _get(raw, f"{key}.key", str, digest[16:32].hex())
    try:
        device_key = bytes.fromhex(key_hex)
    except ValueError as ex:
        raise ScenarioError(f"{key}.key", "must be 32 hex digits") from ex
    if len(device_key) != 16:
        raise ScenarioError(f"{key}.key", "must be 32 hex digits")
    distance = float(_get(raw, f"{key}.distance_m", (int, float), 3.0))
    power = _get(raw, f"{key}.power", str, "wearable" if kind == "wearable" else "puck")
    if power not in POWER_MODES:
        raise ScenarioError(f"{key}.power", f"must be one of {POWER_MODES}")
    period = _get(raw, f"{key}.listen_period_s", int, 60)
    if not 10 <= period <= 3600:
        raise ScenarioError(f"{key}.listen_period_s", "must be 10..3600 seconds")
    return Device(name, kind, owner, distance, battery, address, device_key, power, period)


def _visit(raw: Any, key: str, people: dict[str, str], homes: set[str]) -> Visit:
    person = _get(raw, f"{key}.person", str)
    if person not in people:
        raise ScenarioError(f"{key}.person", f"no person named {person!r}")
    to = _get(raw, f"{key}.to", str)
    if to not in homes:
        raise ScenarioError(f"{key}.to", f"no home named {to!r}")
    if to == people[person]:
        raise ScenarioError(f"{key}.to", f"{person} lives at {to!r}; a visit is to another home")
    first = _get(raw, f"{key}.from", str)
    last = _get(raw, f"{key}.until", str)
    if len(first) <= len("23:00:00") and len(last) <= len("23:00:00"):
        try:
            window = Window(time.fromisoformat(first), time.fromisoformat(last))
        except ValueError as ex:
            raise ScenarioError(
                f"{key}.from", "daily visits look like from = '19:00', until = '23:00'"
            ) from ex
        if window.start == window.end:
            raise ScenarioError(f"{key}.until", "must differ from 'from'")
        return Visit(person, to, daily=window)
    try:
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError as ex:
        raise ScenarioError(
            f"{key}.from", "must be a time of day ('19:00') or an ISO 8601 datetime with offset"
        ) from ex
    if start.tzinfo is None or end.tzinfo is None:
        raise ScenarioError(f"{key}.from", "dated visits need a UTC offset, e.g. 2025-03-07T19:00:00+00:00")
    if end <= start:
        raise ScenarioError(f"{key}.until", "must be after 'from'")
    return Visit(person, to, start=start, end=end)


def _window(raw: Any, key: str) -> Window | None:
    text = _get(raw, key, str, "")
    if not text:
        return None
    try:
        a, b = text.split("-")
        return Window(time.fromisoformat(a.strip()), time.fromisoformat(b.strip()))
    except ValueError as ex:
        raise ScenarioError(key, "must look like '23:00-07:00'") from ex


def _table(raw: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise ScenarioError(key, "missing table")
        return {}
    if not isinstance(value, dict):
        raise ScenarioError(key, "must be a table")
    return value


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise ScenarioError(key, f"needs at least one [[{key}]] entry")
    return value


_MISSING: Final = object()


def _get(raw: Any, key: str, kind: Any, default: Any = _MISSING) -> Any:
    if not isinstance(raw, dict):
        raise ScenarioError(key.rsplit(".", 1)[0], "must be a table")
    value = raw.get(key.rsplit(".", 1)[-1], _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise ScenarioError(key, "is required")
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ScenarioError(key, f"has the wrong type ({type(value).__name__})")
    return value
