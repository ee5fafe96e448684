"""/metrics: valid Prometheus text exposition, read back by a small parser of our own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from hub.events import SignalKind
from hub.histogram import Histogram
from hub.web.metrics import HubSample, Metrics, metrics_text
from tests.support.homes import Homes
from tests.support.waiting import eventually

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


@dataclass
class Family:
    kind: str = ""
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)


def parse(text: str) -> dict[str, Family]:
    """Text format 0.0.4: HELP/TYPE before samples, each sample belonging to a declared family."""
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"family {name} declared twice"
            families[name] = Family(help=help_text)
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}
            families[name].kind = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, raw_labels, value = match[1], match[2] or "", match[3]
            labels: dict[str, str] = {}
            rest = raw_labels
            while rest:
                label = _LABEL.match(rest)
                assert label, f"bad labels in {line!r}"
                labels[label[1]] = _unescape(label[2])
                rest = rest[label.end() :]
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            family = families.get(name) or families.get(base)
            assert family is not None, f"{name} has no HELP/TYPE"
            family.samples.append((name, labels, float(value)))
    return families


def value(families: dict[str, Family], name: str, **labels: str) -> float:
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    family = families.get(name) or families[base]
    found = [v for n, ls, v in family.samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def test_labels_are_escaped_and_histograms_are_cumulative() -> None:
    latency = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.005, 0.05, 0.05, 2.0):
        latency.observe(seconds)
    sample = HubSample(
        adverts_seen=7,
        rejected={'odd "reason"\\with\nnewline': 2},
        recoveries={"restart_scan": 1},
        scanner_errors={"in_progress": 3},
        fates={"delivered": 4, "held": 1},
        relay_reconnects=2,
        publish_latency=latency,
    )
    families = parse(Metrics().render({'home "a"': sample}))
    home = 'home "a"'
    assert value(families, "heartline_rejected_total", home=home, reason='odd "reason"\\with\nnewline') == 2
    assert families["heartline_adverts_seen_total"].kind == "counter"
    assert value(families, "heartline_adapter_recoveries_total", step="restart_scan") == 1
    assert value(families, "heartline_scanner_errors_total", kind="in_progress") == 3
    assert value(families, "heartline_signals", fate="held") == 1
    assert value(families, "heartline_relay_reconnects_total") == 2
    assert families["heartline_publish_latency_seconds"].kind == "histogram"
    buckets = [
        (labels["le"], v)
        for n, labels, v in families["heartline_publish_latency_seconds"].samples
        if n.endswith("_bucket")
    ]
    assert buckets == [("0.01", 1), ("0.1", 3), ("1", 3), ("+Inf", 4)]
    assert value(families, "heartline_publish_latency_seconds_count") == 4
    assert value(families, "heartline_publish_latency_seconds_sum") == pytest.approx(2.105)


def test_adverts_per_second_over_the_scrapes_of_the_last_minute() -> None:
    now = [0.0]
    metrics = Metrics(clock=lambda: now[0])
    first = parse(metrics.render({"a": HubSample(adverts_seen=100)}))
    assert first["heartline_adverts_per_second"].samples == []  # one scrape: no rate yet
    now[0] = 10.0
    second = parse(metrics.render({"a": HubSample(adverts_seen=300)}))
    assert value(second, "heartline_adverts_per_second", home="a") == 20.0
    now[0] = 100.0  # the oldest sample slides out of the minute
    third = parse(metrics.render({"a": HubSample(adverts_seen=1200)}))
    assert value(third, "heartline_adverts_per_second", home="a") == 10.0


async def test_metrics_of_two_running_hubs(homes: Homes) -> None:
    homes.hub_a.send(SignalKind.CELEBRATE)

    def delivered() -> bool:
        fams = parse(metrics_text({"a": homes.hub_a, "b": homes.hub_b}))
        fates = {ls["fate"]: v for _, ls, v in fams["heartline_signals"].samples if ls["home"] == "a"}
        return fates.get("delivered") == 1

    await eventually(delivered, within_s=30, what="A's signal delivered, as /metrics counts it")
    families = parse(metrics_text({"a": homes.hub_a, "b": homes.hub_b}))
    for name in (
        "heartline_adverts_seen_total",
        "heartline_ingest_queue_depth",
        "heartline_outbox_depth",
        "heartline_relay_connected",
        "heartline_relay_reconnects_total",
    ):
        assert {ls["home"] for _, ls, _ in families[name].samples} == {"a", "b"}, name
    assert value(families, "heartline_relay_connected", home="a") == 1
    assert value(families, "heartline_adverts_seen_total", home="a") >= 0
    assert value(families, "heartline_signals", home="b", fate="delivered") == 1
    for name in (
        "heartline_adapter_recoveries_total",
        "heartline_scanner_errors_total",
        "heartline_rejected_total",
    ):
        assert families[name].kind == "counter"
