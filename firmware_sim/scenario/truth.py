"""The hubs' answers beside the truth: presence, together time, arrival and departure delays.

Truth is where the scenario put each person, on its 5-minute grid (a visit puts its person at
the host's home). The hubs' answers are their presence services' stored sessions and the
moments their states changed, polled on the hub's own presence beat. Everything is in virtual
seconds from the scenario's start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

# A hub's change counts as the answer to a true arrival or departure within this long; later
# (or none) is a miss, counted apart rather than mixed into the delays.
MATCH_WITHIN_S: Final = 1800.0

Interval = tuple[float, float]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals (touching ones joined)."""
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two sorted, disjoint interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def hours(intervals: Iterable[Interval]) -> float:
    return round(sum(hi - lo for lo, hi in intervals) / 3600.0, 2)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    value = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
    return round(value, 1)


@dataclass(slots=True)
class Timeline:
    """Per (person, home): the true intervals and the hub's state changes (t, present)."""

    truth: dict[tuple[str, str], list[Interval]] = field(default_factory=dict)
    changes: dict[tuple[str, str], list[tuple[float, bool]]] = field(default_factory=dict)
    sessions: dict[tuple[str, str], list[Interval]] = field(default_factory=dict)

    def place(self, person: str, home: str | None, t: float, step: float) -> None:
        """The truth: ``person`` was at ``home`` (None: near no hub) for [t, t + step)."""
        if home is None:
            return
        spans = self.truth.setdefault((person, home), [])
        if spans and spans[-1][1] == t:
            spans[-1] = (spans[-1][0], t + step)
        else:
            spans.append((t, t + step))

    def changed(self, person: str, home: str, t: float, present: bool) -> None:
        self.changes.setdefault((person, home), []).append((t, present))


def _delays(truth: Sequence[Interval], changes: Sequence[tuple[float, bool]], end_s: float) -> dict[str, Any]:
    arrivals: list[float] = []
    departures: list[float] = []
    missed = {"arrivals": 0, "departures": 0}
    for lo, hi in truth:
        if lo > 0:  # the run's first instant is a starting state, not an arrival
            hit = next((t for t, present in changes if present and lo <= t <= lo + MATCH_WITHIN_S), None)
            if hit is None:
                missed["arrivals"] += 1
            else:
                arrivals.append(hit - lo)
        if hi < end_s:  # still there when the run ends: no departure to answer
            hit = next((t for t, present in changes if not present and hi <= t <= hi + MATCH_WITHIN_S), None)
            if hit is None:
                missed["departures"] += 1
            else:
                departures.append(hit - hi)
    return {
        "missed": missed,
        "arrival_delays": arrivals,
        "departure_delays": departures,
    }


def _person(
    timeline: Timeline, person: str, own: str, homes: Sequence[str], *, end_s: float, days: float
) -> dict[str, Any]:
    truth = merge(timeline.truth.get((person, own), []))
    measured = merge(timeline.sessions.get((person, own), []))
    spurious = 0
    for home in homes:
        true_here = merge(timeline.truth.get((person, home), []))
        spurious += sum(1 for s in timeline.sessions.get((person, home), []) if not intersect([s], true_here))
    arrivals: list[float] = []
    departures: list[float] = []
    missed = {"arrivals": 0, "departures": 0}
    for home in homes:  # a visit's arrival and departure are answered by the host's hub
        found = _delays(
            merge(timeline.truth.get((person, home), [])),
            sorted(timeline.changes.get((person, home), [])),
            end_s,
        )
        arrivals.extend(found["arrival_delays"])
        departures.extend(found["departure_delays"])
        for what in missed:
            missed[what] += found["missed"][what]
    visits = {
        home: {
            "hours_measured": hours(timeline.sessions.get((person, home), [])),
            "hours_true": hours(timeline.truth.get((person, home), [])),
        }
        for home in homes
        if home != own and (timeline.truth.get((person, home)) or timeline.sessions.get((person, home)))
    }
    return {
        "home": own,
        "presence_hours_measured": hours(measured),
        "presence_hours_true": hours(truth),
        "spurious_sessions": spurious,
        "spurious_sessions_per_day": round(spurious / days, 3) if days else 0.0,
        "arrivals": len(arrivals),
        "arrival_delay_median_s": median(arrivals),
        "departures": len(departures),
        "departure_delay_median_s": median(departures),
        "missed": missed,
        "visits": visits,
        "_arrivals": arrivals,
        "_departures": departures,
    }


def _together(
    spans: dict[tuple[str, str], list[Interval]], names: Sequence[str], homes: Sequence[str]
) -> float:
    both_anywhere: list[Interval] = []
    for home in homes:
        both = merge(spans.get((names[0], home), []))
        for name in names[1:]:
            both = intersect(both, merge(spans.get((name, home), [])))
        both_anywhere.extend(both)
    return hours(both_anywhere)


def compare(
    timeline: Timeline,
    people: dict[str, str],
    homes: Sequence[str],
    *,
    end_s: float,
    days: float,
) -> dict[str, Any]:
    """``people``: person -> their own home. The comparison, JSON-ready."""
    per_person = {
        person: _person(timeline, person, own, homes, end_s=end_s, days=days)
        for person, own in people.items()
    }
    all_arrivals = [d for facts in per_person.values() for d in facts.pop("_arrivals")]
    all_departures = [d for facts in per_person.values() for d in facts.pop("_departures")]
    names = sorted(people)
    together = len(names) >= 2
    return {
        "people": per_person,
        "couple": {
            "people": names,
            "together_hours_measured": _together(timeline.sessions, names, homes) if together else 0.0,
            "together_hours_true": _together(timeline.truth, names, homes) if together else 0.0,
        },
        "arrival_delay_median_s": median(all_arrivals),
        "departure_delay_median_s": median(all_departures),
    }
