"""systemd integration with no new dependency: ``sd_notify`` and a watchdog that means something.

``Type=notify`` services tell systemd how they are doing by sending short ``KEY=value`` lines
as one datagram to the unix socket named in ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the
abstract namespace). The hub sends ``READY=1`` once BLE scanning is up and the web app
listens, ``STATUS=…`` lines as its state changes, ``STOPPING=1`` when it shuts down, and
``WATCHDOG=1`` every ``$WATCHDOG_USEC / 2``, but only while its liveness check passes: if the
BLE scan supervisor or a relay loop stops turning (a wedged D-Bus call, a deadlock), pings
stop and systemd restarts the hub after ``WatchdogSec``. A blocked event loop stops the pings
by itself, since the watchdog runs on that loop.

Liveness comes from two sources. :class:`Heartbeats` is a table of loops that promise to beat
again within a deadline they declare themselves (a loop about to sleep 300 s says so), so a
long, legitimate wait is never mistaken for a wedge. :func:`hub_liveness` adds what a running
``Hub`` already shows: its named tasks are all still running and its health answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from hub.app.interface import HubInterface
from hub.health import BleState
from hub.heartbeats import Heartbeats

_LOGGER = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV: Final = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV: Final = "WATCHDOG_USEC"
WATCHDOG_PID_ENV: Final = "WATCHDOG_PID"
# sd_notify(3): ping at half the watchdog period so one late ping is not fatal.
PINGS_PER_PERIOD: Final = 2
USEC_PER_S: Final = 1_000_000
# systemd's STATUS= is shown by `systemctl status`; keep it to one readable line.
MAX_STATUS_CHARS: Final = 400  # room for a problem and its fix
# The hub's loops the watchdog insists on (task names given in hub.app and hub.relay.relay).
# The relay confirmer and the delivery loops are event-driven and may rightly idle forever.
HUB_LOOPS: Final = ("ble-scanner", "ble-ingest", "relay-publisher", "relay-receiver")

Liveness = Callable[[], str | None]  # None when alive, else what is wrong (one line)


class SystemdNotifier:
    """Sends ``sd_notify`` messages; does nothing at all when not started by systemd."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._socket: socket.socket | None = None
        self._target: str | bytes | None = None
        self._warned = False
        if not address:
            return
        if address.startswith("@"):
            self._target = b"\0" + address[1:].encode()  # Linux abstract namespace
        elif address.startswith("/"):
            self._target = address
        else:
            _LOGGER.warning("ignoring %s=%r: not a path or @abstract name", NOTIFY_SOCKET_ENV, address)
            return
        # Non-blocking: a stalled systemd must never stall the hub's event loop.
        self._socket = socket.socket(
            socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        env = os.environ if environ is None else environ
        return cls(env.get(NOTIFY_SOCKET_ENV))

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram of ``KEY=value`` lines; never raises (systemd may be gone)."""
        if self._socket is None or self._target is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), self._target)
        except OSError as ex:
            if not self._warned:  # a notify socket that went away must not flood the log
                _LOGGER.warning("cannot notify systemd at %s: %s", self.address, ex)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", _status_line(status), f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.notify(_status_line(status))

    def stopping(self, status: str = "stopping") -> bool:
        return self.notify("STOPPING=1", _status_line(status))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _status_line(status: str) -> str:
    return "STATUS=" + " ".join(status.split())[:MAX_STATUS_CHARS]


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings, or None when systemd's watchdog is off for this process."""
    env = os.environ if environ is None else environ
    usec = env.get(WATCHDOG_USEC_ENV)
    if not usec:
        return None
    pid = env.get(WATCHDOG_PID_ENV)
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (e.g. our parent), as sd_watchdog_enabled(3) says
    try:
        period_us = int(usec)
    except ValueError:
        _LOGGER.warning("ignoring %s=%r: not a number of microseconds", WATCHDOG_USEC_ENV, usec)
        return None
    if period_us <= 0:
        return None
    return period_us / USEC_PER_S / PINGS_PER_PERIOD


def heartbeat_liveness(heartbeats: Heartbeats) -> Liveness:
    def check() -> str | None:
        late = heartbeats.overdue()
        return f"no heartbeat from {', '.join(late)}" if late else None

    return check


def tasks_liveness(names: Iterable[str]) -> Liveness:
    """Every named task exists on this loop and has not finished (a loop that ended is dead)."""
    wanted = tuple(names)

    def check() -> str | None:
        running = {task.get_name() for task in asyncio.all_tasks() if not task.done()}
        missing = [name for name in wanted if name not in running]
        return f"not running: {', '.join(missing)}" if missing else None

    return check


def combined(*checks: Liveness) -> Liveness:
    def check() -> str | None:
        problems = [problem for problem in (each() for each in checks) if problem]
        return "; ".join(problems) if problems else None

    return check


def hub_liveness(hub: HubInterface, heartbeats: Heartbeats | None = None) -> Liveness:
    """The running hub is alive: its BLE and relay loops run (and beat, given heartbeats)."""

    def health() -> str | None:
        return "ble stopped" if hub.health().ble.state is BleState.STOPPED else None

    checks = [tasks_liveness(HUB_LOOPS), health]
    if heartbeats is not None:
        checks.append(heartbeat_liveness(heartbeats))
    return combined(*checks)


_PARTNER_WORDS: Final = {True: "online", False: "offline", None: "unknown"}


def hub_status(hub: HubInterface) -> str:
    """One line for ``systemctl status``: each part's state, then what is wrong and its fix."""
    state = hub.health()
    line = (
        f"ble {state.ble.state.value}; relay {state.relay.state.value}; outbox {state.outbox}; "
        f"adverts {state.adverts_seen}; partner hub {_PARTNER_WORDS[state.partner.online]}"
    )
    return f"{line}; {state.reason}" if state.reason else line


async def run_watchdog(
    notifier: SystemdNotifier,
    interval_s: float,
    liveness: Liveness,
    status: Callable[[], str] | None = None,
) -> None:
    """Ping every ``interval_s`` while ``liveness()`` passes; report why when it does not."""
    last_status = ""
    withheld: str | None = None
    while True:
        try:
            problem = liveness()
        except Exception as ex:  # a check that crashes is a hub that cannot vouch for itself
            problem = f"liveness check failed: {ex!r}"
        if problem is None:
            if withheld is not None:
                _LOGGER.warning("hub loops alive again; watchdog pings resume")
                withheld = None
            notifier.watchdog()
            text = status() if status is not None else "running"
        else:
            if problem != withheld:
                _LOGGER.error("withholding systemd watchdog pings: %s", problem)
                withheld = problem
            text = f"unhealthy, systemd will restart it: {problem}"
        if text != last_status:
            notifier.status(text)
            last_status = text
        await asyncio.sleep(interval_s)
