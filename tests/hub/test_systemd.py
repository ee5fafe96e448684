"""sd_notify and the liveness watchdog, against a real datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import configparser
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.heartbeats import Heartbeats
from hub.server import HUB_STOP_BOUND_S, WEB_STOP_BOUND_S
from hub.systemd import (
    SystemdNotifier,
    combined,
    heartbeat_liveness,
    run_watchdog,
    tasks_liveness,
    watchdog_interval,
)
from tests.support.waiting import eventually

UNIT_FILE = Path(__file__).resolve().parents[2] / "hardware" / "heartline-hub.service"


class FakeSystemd:
    """A bound AF_UNIX datagram socket: what systemd listens on for a notify service."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + address[1:].encode() if address.startswith("@") else address)
        self.sock.setblocking(False)  # noqa: FBT003

    def messages(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return out
            out.append(dict(line.split("=", 1) for line in data.decode().splitlines()))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify.sock"))
    yield fake
    fake.close()


def test_ready_status_stopping_and_watchdog_reach_the_socket(systemd: FakeSystemd) -> None:
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": systemd.address})
    assert notifier.enabled
    assert notifier.ready("ble ok")
    assert notifier.watchdog()
    assert notifier.status("relay\nconnected")
    assert notifier.stopping()
    notifier.close()
    ready, ping, status, stopping = systemd.messages()
    assert ready["READY"] == "1"
    assert ready["STATUS"] == "ble ok"
    assert ready["MAINPID"] == str(os.getpid())
    assert ping == {"WATCHDOG": "1"}
    assert status == {"STATUS": "relay connected"}  # one line, whatever the caller passed
    assert stopping["STOPPING"] == "1"


def test_abstract_namespace_socket() -> None:
    fake = FakeSystemd(f"@heartline-test-{uuid.uuid4().hex}")
    try:
        notifier = SystemdNotifier(fake.address)
        assert notifier.ready("up")
        notifier.close()
        assert fake.messages()[0]["READY"] == "1"
    finally:
        fake.close()


def test_without_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    assert not SystemdNotifier.from_environ({}).notify("READY=1")
    gone = SystemdNotifier(str(tmp_path / "nobody-listens.sock"))
    assert gone.enabled
    assert not gone.watchdog()  # logged once, never raised
    assert not gone.watchdog()
    gone.close()


def test_watchdog_interval_is_half_the_period_and_only_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({}) is None


def test_heartbeats_hold_each_loop_to_its_own_promise() -> None:
    now = [100.0]
    beats = Heartbeats(lambda: now[0])
    beats.expect("ble-scanner", 5)
    beats.beat("relay-receiver", 4)
    now[0] = 104.5
    assert beats.overdue() == ["relay-receiver"]
    beats.beat("relay-receiver", 300)  # about to wait long, and says so
    now[0] = 106
    assert beats.overdue() == ["ble-scanner"]
    beats.forget("ble-scanner")
    assert beats.overdue() == []


@pytest.mark.slow  # waits out windows
async def test_pings_stop_while_a_loop_is_wedged_and_resume_after(systemd: FakeSystemd) -> None:
    beats = Heartbeats()
    wedged = asyncio.Event()
    stuck = asyncio.Event()
    unwedged = asyncio.Event()
    seen: list[dict[str, str]] = []

    def heard(message: dict[str, str], times: int = 1) -> bool:
        seen.extend(systemd.messages())
        return seen.count(message) >= times

    def unhealthy_about(name: str) -> bool:
        seen.extend(systemd.messages())
        return any(m.get("STATUS", "").startswith("unhealthy") and name in m["STATUS"] for m in seen)

    async def loop(name: str) -> None:
        while True:
            beats.beat(name, 0.15)
            if name == "relay-receiver" and wedged.is_set():
                stuck.set()
                await unwedged.wait()  # stuck, as on a call that never returns
            await asyncio.sleep(0.02)

    notifier = SystemdNotifier(systemd.address)
    async with asyncio.TaskGroup() as group:
        loops = [group.create_task(loop(name), name=name) for name in ("ble-scanner", "relay-receiver")]
        liveness = combined(heartbeat_liveness(beats), tasks_liveness(["ble-scanner", "relay-receiver"]))
        watchdog = group.create_task(run_watchdog(notifier, 0.05, liveness, lambda: "all good"))
        await eventually(
            lambda: heard({"WATCHDOG": "1"}, times=3) and heard({"STATUS": "all good"}), what="healthy pings"
        )

        # Waits are for events, not for time: the only fixed sleeps are windows in which no ping
        # may go out (a busy machine can delay a ping, never invent one).
        wedged.set()
        await eventually(stuck.is_set, what="the loop to be stuck")
        systemd.messages()  # from before its last beat
        seen.clear()
        await eventually(lambda: unhealthy_about("relay-receiver"), what="the wedge to be noticed")
        systemd.messages()
        await asyncio.sleep(0.3)
        during = systemd.messages()
        assert {"WATCHDOG": "1"} not in during

        unwedged.set()
        wedged.clear()
        seen.clear()
        await eventually(
            lambda: heard({"WATCHDOG": "1"}) and heard({"STATUS": "all good"}), what="pings back"
        )

        loops[0].cancel()  # a loop that died is as bad as one that is stuck
        await eventually(loops[0].done, what="the loop to end")
        systemd.messages()
        seen.clear()
        await eventually(lambda: unhealthy_about("ble-scanner"), what="the dead loop to be noticed")
        systemd.messages()
        await asyncio.sleep(0.2)
        dead = systemd.messages()
        assert {"WATCHDOG": "1"} not in dead
        watchdog.cancel()
        loops[1].cancel()
    notifier.close()


async def test_a_status_says_why_pings_stopped(systemd: FakeSystemd) -> None:
    notifier = SystemdNotifier(systemd.address)
    task = asyncio.create_task(run_watchdog(notifier, 0.02, lambda: "no heartbeat from relay-receiver"))
    await asyncio.sleep(0.1)
    task.cancel()
    notifier.close()
    messages = systemd.messages()
    assert messages == [{"STATUS": "unhealthy, systemd will restart it: no heartbeat from relay-receiver"}]


def test_unit_file_is_a_hardened_notify_service_with_a_watchdog() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(UNIT_FILE, encoding="utf-8")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["WatchdogSec"] == "30"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"] == "/opt/heartline/venv/bin/heartline hub --config /etc/heartline/hub.toml"
    assert service["User"] == "heartline"
    assert service["SupplementaryGroups"] == "bluetooth"
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "RestrictSUIDSGID"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    # The code stays read-only to the service; only its state directory is writable.
    assert service["StateDirectory"] == "heartline"
    assert "ReadWritePaths" not in service
    # A config error (exit 2) is not retried in a loop.
    assert service["RestartPreventExitStatus"] == "2"
    assert service["CapabilityBoundingSet"] == ""
    assert "AF_UNIX" in service["RestrictAddressFamilies"].split()  # D-Bus and sd_notify
    # The hub's own stop bound fits inside systemd's, so a slow goodbye is never SIGKILLed.
    assert int(service["TimeoutStopSec"]) > WEB_STOP_BOUND_S + HUB_STOP_BOUND_S
    assert "bluetooth.service" in unit["Unit"]["After"].split()
    assert unit["Install"]["WantedBy"] == "multi-user.target"
