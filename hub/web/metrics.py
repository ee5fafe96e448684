"""Prometheus text exposition (format 0.0.4) of what the hubs count, for ``GET /metrics``.

Written by hand (no prometheus_client dependency): the hub keeps its own counters and this module
only renders them, with ``# HELP`` / ``# TYPE`` for every family and label values escaped.

``adverts/s``: ``heartline_adverts_per_second`` is the rate between this scrape and a scrape
about a minute ago (absent until two scrapes have been seen). Prometheus users should prefer
``rate(heartline_adverts_seen_total[1m])``, which survives restarts and missed scrapes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from hub.app.interface import HubInterface
from hub.health import RelayProblemKind, RelayState
from hub.histogram import Histogram

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
RATE_WINDOW_S: Final = 60.0
# Scrapes closer together than this give a rate of mostly noise; keep the older sample.
MIN_RATE_SPAN_S: Final = 1.0


@dataclass(slots=True)
class HubSample:
    """Everything /metrics shows for one hub, read in one go."""

    adverts_seen: int = 0
    ingest_queue: int = 0
    outbox: int = 0
    relay_connected: bool = False
    relay_reconnects: int = 0
    relay_problem: RelayProblemKind | None = None
    partner_online: bool | None = None
    recoveries: Mapping[str, int] = field(default_factory=dict)
    scanner_errors: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, int] = field(default_factory=dict)
    accepted: Mapping[str, int] = field(default_factory=dict)
    fates: Mapping[str, int] = field(default_factory=dict)
    publish_latency: Histogram | None = None


def sample_hub(hub: HubInterface) -> HubSample:
    state, counters = hub.health(), hub.counters()
    return HubSample(
        adverts_seen=state.adverts_seen,
        ingest_queue=state.ingest_queue,
        outbox=state.outbox,
        relay_connected=state.relay.state is RelayState.CONNECTED,
        relay_reconnects=counters.relay_reconnects,
        relay_problem=state.relay.problem.kind if state.relay.problem else None,
        partner_online=state.partner.online,
        recoveries=counters.recoveries,
        scanner_errors=counters.scanner_errors,
        rejected=dict(state.rejected),
        accepted=counters.adverts_accepted,
        fates=counters.fates,
        publish_latency=counters.publish_latency,
    )


# -- exposition ---------------------------------------------------------------------------------


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.lines = [f"# HELP {name} {escape_help(help_text)}", f"# TYPE {name} {kind}"]

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        rendered = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels.items())
        self.lines.append(f"{self.name}{suffix}{{{rendered}}} {format_value(value)}")


class Metrics:
    """Renders hubs' samples; keeps the recent advert counts that the adverts/s gauge needs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._adverts: dict[str, deque[tuple[float, int]]] = {}

    def _rate(self, home: str, count: int) -> float | None:
        now = self._clock()
        history = self._adverts.setdefault(home, deque())
        if history and count < history[-1][1]:
            history.clear()  # the hub restarted: counts began again
        if not history or now - history[-1][0] >= MIN_RATE_SPAN_S:
            history.append((now, count))
        while len(history) > 2 and now - history[1][0] >= RATE_WINDOW_S:
            history.popleft()
        first_t, first_count = history[0]
        if now - first_t < MIN_RATE_SPAN_S:
            return None
        return (count - first_count) / (now - first_t)

    def render(self, samples: Mapping[str, HubSample]) -> str:
        adverts = _Family("heartline_adverts_seen_total", "counter", "Advertisements the BLE ingest saw.")
        rate = _Family(
            "heartline_adverts_per_second",
            "gauge",
            "Adverts per second over up to the last minute of scrapes; prefer rate() on the counter.",
        )
        ingest = _Family("heartline_ingest_queue_depth", "gauge", "Adverts waiting to be decoded.")
        outbox = _Family("heartline_outbox_depth", "gauge", "Signals and receipts waiting for the broker.")
        connected = _Family("heartline_relay_connected", "gauge", "1 while the relay's MQTT session is up.")
        reconnects = _Family(
            "heartline_relay_reconnects_total", "counter", "Times the relay lost its broker connection."
        )
        problem = _Family(
            "heartline_relay_problem",
            "gauge",
            "1 for the kind of problem keeping the relay from working (see /api/health's reason).",
        )
        partner = _Family(
            "heartline_partner_hub_online", "gauge", "1 while the partner's hub is online (absent: unknown)."
        )
        recoveries = _Family(
            "heartline_adapter_recoveries_total", "counter", "BLE scan recoveries, by escalation step."
        )
        errors = _Family("heartline_scanner_errors_total", "counter", "BLE scanner errors, by kind.")
        rejected = _Family("heartline_rejected_total", "counter", "Inputs rejected, by reason.")
        accepted = _Family(
            "heartline_adverts_accepted_total",
            "counter",
            "Adverts from registered buttons accepted, by kind.",
        )
        fates = _Family("heartline_signals", "gauge", "Signals in the log, by their current fate.")
        latency = _Family(
            "heartline_publish_latency_seconds", "histogram", "Time from MQTT publish to the broker's PUBACK."
        )
        for home, sample in samples.items():
            adverts.add(sample.adverts_seen, home=home)
            per_second = self._rate(home, sample.adverts_seen)
            if per_second is not None:
                rate.add(per_second, home=home)
            ingest.add(sample.ingest_queue, home=home)
            outbox.add(sample.outbox, home=home)
            connected.add(1 if sample.relay_connected else 0, home=home)
            reconnects.add(sample.relay_reconnects, home=home)
            _add_link_state(problem, partner, sample, home)
            for step, count in sorted(sample.recoveries.items()):
                recoveries.add(count, home=home, step=step)
            for kind, count in sorted(sample.scanner_errors.items()):
                errors.add(count, home=home, kind=kind)
            for reason, count in sorted(sample.rejected.items()):
                rejected.add(count, home=home, reason=reason)
            for kind, count in sorted(sample.accepted.items()):
                accepted.add(count, home=home, kind=kind)
            for fate, count in sorted(sample.fates.items()):
                fates.add(count, home=home, fate=fate)
            if sample.publish_latency is not None:
                histogram = sample.publish_latency
                for bound, count in histogram.cumulative():
                    latency.add(count, "_bucket", home=home, le=format_value(bound))
                latency.add(histogram.sum, "_sum", home=home)
                latency.add(histogram.count, "_count", home=home)
        families = (
            adverts,
            rate,
            ingest,
            outbox,
            connected,
            reconnects,
            problem,
            partner,
            recoveries,
            errors,
            rejected,
            accepted,
            fates,
            latency,
        )
        return "\n".join(line for family in families for line in family.lines) + "\n"

    def hubs_text(self, hubs: Mapping[str, HubInterface]) -> str:
        return self.render({home: sample_hub(hub) for home, hub in hubs.items()})


def _add_link_state(problem: _Family, partner: _Family, sample: HubSample, home: str) -> None:
    for kind in RelayProblemKind:  # every kind, 0 or 1: alerts need the series to exist
        problem.add(1 if sample.relay_problem is kind else 0, home=home, kind=kind.value)
    if sample.partner_online is not None:
        partner.add(1 if sample.partner_online else 0, home=home)


_DEFAULT: Final = Metrics()


def metrics_text(hubs: Mapping[str, HubInterface]) -> str:
    """Drop-in for ``hub.web.api.metrics_text``: every hub under its ``home`` label."""
    return _DEFAULT.hubs_text(hubs)
