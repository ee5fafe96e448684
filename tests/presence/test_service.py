"""Sessions in SQLite: arrive, leave, restart (resume or close), and wall-clock steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.clock import ManualClock
from hub.presence.service import RESUME_GAP_S, PresenceService
from hub.store.database import open_database

ANA = "AA:AA:AA:AA:AA:01"
BUTTON = "BB:BB:BB:BB:BB:02"
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def run(service: PresenceService, clock: ManualClock, seconds: int, *, ana: bool, rssi: float = -62) -> None:
    for _ in range(seconds):
        clock.advance(1.0)
        if ana:
            service.observe(ANA, rssi, clock.monotonic())
        service.observe(BUTTON, -55, clock.monotonic() + 0.5)
        service.tick()


def test_a_stay_is_logged_with_arrival_departure_and_confidence(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    clock = ManualClock(START)
    service = PresenceService(db, clock, {"ana": [ANA]})
    run(service, clock, 600, ana=True)
    assert service.state("ana").present
    run(service, clock, 400, ana=False)
    (session,) = service.store.sessions(person="ana")
    assert session.arrived_at == START + timedelta(seconds=1)
    assert session.left_at == START + timedelta(seconds=600)
    assert session.close_reason == "left"
    assert session.confidence == 1.0
    assert not service.state("ana").present


def test_restart_resumes_an_open_session_when_the_person_is_still_there(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    clock = ManualClock(START)
    run(PresenceService(db, clock, {"ana": [ANA]}), clock, 300, ana=True)
    clock.advance(60)  # the hub reboots; monotonic time restarts with a new run
    restarted = ManualClock(clock.now())
    service = PresenceService(db, restarted, {"ana": [ANA]})
    run(service, restarted, 120, ana=True)
    (session,) = service.store.sessions(person="ana")
    assert session.left_at is None
    assert session.arrived_at == START + timedelta(seconds=1)
    assert service.state("ana").since == START + timedelta(seconds=1)


def test_restart_closes_an_open_session_at_its_last_sighting_when_nobody_returns(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    clock = ManualClock(START)
    run(PresenceService(db, clock, {"ana": [ANA]}), clock, 300, ana=True)
    restarted = ManualClock(clock.now() + timedelta(hours=2))
    service = PresenceService(db, restarted, {"ana": [ANA]})
    run(service, restarted, int(RESUME_GAP_S) + 5, ana=False)
    (session,) = service.store.sessions(person="ana")
    assert session.close_reason == "restart"
    assert session.left_at is not None
    assert START + timedelta(seconds=240) <= session.left_at <= START + timedelta(seconds=300)


def test_an_ntp_step_redates_this_runs_sessions(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    wrong = datetime(2024, 1, 1, tzinfo=UTC)  # fake-hwclock's idea of now on a Pi with no RTC
    clock = ManualClock(wrong)
    service = PresenceService(db, clock, {"ana": [ANA]})
    run(service, clock, 100, ana=True)
    step = START - wrong
    clock._now += step  # NTP steps the wall clock; monotonic time does not move
    run(service, clock, 10, ana=True)
    (session,) = service.store.sessions(person="ana")
    assert session.arrived_at == START + timedelta(seconds=1)
