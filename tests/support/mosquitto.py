"""pytest plugin: a real mosquitto relay per test, configured by :func:`hub.broker.setup_relay`.

Register with ``pytest_plugins = ["tests.support.mosquitto"]``. Fixtures:

``mosquitto_binary``
    Path of mosquitto 2.x. Missing or too old fails the test (never skips): ``make test``
    installs it.
``mosquitto_broker``
    A running :class:`Broker` for :data:`COUPLE` and :data:`OTHER_COUPLE` on free ports,
    stopped by its own pid at teardown. Its log is attached to the report of a failing test.

The broker is only ever signalled by the pid this module started; nothing is found by name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from hub.broker.config import PERSISTENCE_FILE, Couple
from hub.broker.setup import HubCredentials, RelaySetup, setup_relay

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Mapping

# Explicit override first, then PATH, then where Debian/Ubuntu/Raspberry Pi OS put it
# (/usr/sbin is often missing from a non-root user's PATH).
MOSQUITTO_ENV: Final = "HEARTLINE_MOSQUITTO"
MOSQUITTO_FALLBACK_PATHS: Final = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
# $7$ (PBKDF2-SHA512) password hashes and per-listener max_qos need mosquitto 2.
MIN_MOSQUITTO_MAJOR: Final = 2
# Starting takes ~10 ms; 10 s covers a loaded CI machine while keeping a test far under the
# 60 s per-test timeout even if every start attempt hits it.
READY_TIMEOUT_S: Final = 10.0
# mosquitto exits on SIGTERM after one database save: well under a second.
STOP_TIMEOUT_S: Final = 10.0
POLL_INTERVAL_S: Final = 0.01
# With autosave after every change the snapshot lands milliseconds after the PUBACK
# (one broker loop turn plus an fsync); seconds mean persistence is misconfigured.
SAVE_TIMEOUT_S: Final = 2.0
PROBE_TIMEOUT_S: Final = 0.5
# A free port can be taken between our probe and mosquitto's bind; a few retries on new
# ports make that race practically impossible to lose every time.
START_ATTEMPTS: Final = 5
# The TLS certificate names this host (and 127.0.0.1); the TLS listener binds loopback only,
# so tests never expose a broker on the network.
TLS_HOST: Final = "localhost"
LOOPBACK: Final = "127.0.0.1"
# Printed by mosquitto after every listener is open, just before its main loop.
_RUNNING_RE: Final = re.compile(r"mosquitto version \S+ running")
_VERSION_RE: Final = re.compile(r"mosquitto version (\d+)\.(\d+)\.(\d+)")
_PR_SET_PDEATHSIG: Final = 1

# The couple under test and a second couple, for isolation tests. Ids look like real ones.
COUPLE: Final = Couple("c5e1d2a9f0", ("h7f3a9c2e1b", "h2b8d4e6f0a"))
OTHER_COUPLE: Final = Couple("c9b7a5c3e1", ("h0c1d2e3f4a", "h9e8d7c6b5a"))


class BrokerError(RuntimeError):
    """The test broker could not be started or stopped; the message includes its log."""


class BrokerPortInUseError(BrokerError):
    """A port we picked was taken before mosquitto bound it."""


def _die_with_parent_fn() -> Callable[[], None] | None:
    """A preexec_fn making the broker die with the test process (Linux), so even a killed
    pytest leaves no broker behind. Only when called from the main thread: the kernel sends
    the signal when the *thread* that forked exits."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def _set_pdeathsig() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return _set_pdeathsig


# Servers the suite starts listen on ports below the kernel's ephemeral range: a port from that
# range, once its server is stopped for a restart, can be taken by any outgoing connection in the
# meantime (even one to itself: a client retrying connect() to a dead local port can be handed
# that very port as its source and connect to itself), and the broker cannot come back on it.
# Each xdist worker walks its own block, so workers never hand out the same port.
_PORT_BLOCK: Final = 1_000
_PORT_FLOOR: Final = 10_000
_next_port: list[int] = []


def _ephemeral_floor() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
    except (OSError, IndexError):
        return 32_768  # Linux's default
    return int(low)


def _worker_block() -> range | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    blocks = (_ephemeral_floor() - _PORT_FLOOR) // _PORT_BLOCK
    if blocks < 1:
        return None  # no room below the ephemeral range: let the OS pick
    start = _PORT_FLOOR + (int(worker) if worker.isdigit() else 0) % blocks * _PORT_BLOCK
    return range(start, start + _PORT_BLOCK)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now, outside the ephemeral range."""
    block = _worker_block()
    if block is None:
        return _os_picked_ports(count)
    if not _next_port:  # start where this process's pid points, so two runs rarely overlap
        _next_port.append(block.start + os.getpid() % len(block))
    ports: list[int] = []
    for _ in range(len(block)):
        port = _next_port[0]
        _next_port[0] = block.start + (port + 1 - block.start) % len(block)
        if _bindable(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports in {block.start}-{block.stop - 1} on {LOOPBACK}")


def _os_picked_ports(count: int) -> list[int]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


@dataclass(eq=False)
class Broker:
    """A mosquitto process for one relay setup; always signalled by its own pid."""

    binary: Path
    setup: RelaySetup
    host: str
    port: int
    tls_host: str
    tls_port: int
    ca_path: Path
    credentials: Mapping[str, HubCredentials]
    data_dir: Path
    config_path: Path
    log_path: Path
    stderr_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_setup(cls, binary: Path, setup: RelaySetup) -> Broker:
        if setup.tls_port is None or setup.ca_cert_path is None:
            raise BrokerError("the test broker needs a TLS listener: pass tls_port to setup_relay")
        return cls(
            binary=binary,
            setup=setup,
            host=LOOPBACK,
            port=setup.port,
            tls_host=setup.host,
            tls_port=setup.tls_port,
            ca_path=setup.ca_cert_path,
            credentials=setup.credentials,
            data_dir=setup.persistence_dir,
            config_path=setup.config_path,
            log_path=setup.log_path,
            stderr_path=setup.out_dir / "mosquitto.stderr",
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        if self._process is None or not self.running:
            raise BrokerError("mosquitto is not running; call start() first")
        return self._process.pid

    def password(self, hub_id: str) -> str:
        return self.credentials[hub_id].password

    def log_text(self) -> str:
        """mosquitto's log file and its stdout/stderr, for failure reports."""
        parts = []
        for path in (self.log_path, self.stderr_path):
            with contextlib.suppress(FileNotFoundError):
                text = path.read_text(encoding="utf-8", errors="replace").strip()
                if text:
                    parts.append(f"--- {path.name} ---\n{text}")
        return "\n".join(parts) or "(mosquitto wrote no log)"

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _new_log_text(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                return handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def database_path(self) -> Path:
        return self.data_dir / PERSISTENCE_FILE

    def wait_until_saved(self, needle: bytes, timeout: float = SAVE_TIMEOUT_S) -> float:
        """Wait until mosquitto's on-disk snapshot contains ``needle`` (e.g. a payload);
        return how long that took. mosquitto sends the PUBACK *before* it writes the
        snapshot, so this is how a test knows a SIGKILL can no longer lose the message."""
        started = time.monotonic()
        while True:
            with contextlib.suppress(FileNotFoundError):
                # mosquitto writes a new file and renames it, so a read sees a whole snapshot.
                if needle in self.database_path.read_bytes():
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise BrokerError(
                    f"{needle!r} was not in {self.database_path} after {timeout} s; is "
                    f"persistence on with autosave_on_changes? Log:\n{self.log_text()}"
                )
            time.sleep(POLL_INTERVAL_S / 10)

    def start(self) -> None:
        """Start mosquitto in the foreground and wait until both listeners accept."""
        if self.running:
            raise BrokerError(f"mosquitto is already running (pid {self.pid}); stop() it first")
        log_offset = self._log_size()
        with self.stderr_path.open("ab") as out:
            self._process = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Only calls prctl(2), prepared before the fork: no locks, no imports.
                preexec_fn=_die_with_parent_fn(),  # noqa: PLW1509
            )
        try:
            self._wait_ready(log_offset)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, log_offset: int) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = self.log_text()
                if "Address already in use" in text:
                    raise BrokerPortInUseError(
                        f"port {self.port} or {self.tls_port} was taken before mosquitto bound it"
                    )
                raise BrokerError(
                    f"mosquitto exited with status {process.returncode} before accepting "
                    f"connections; check {self.config_path}. Its log:\n{text}"
                )
            # The log line proves that *our* process opened the ports (a connect alone could
            # reach whoever stole a port); the connects prove the sockets are listening.
            if (
                _RUNNING_RE.search(self._new_log_text(log_offset))
                and _accepts(self.host, self.port)
                and _accepts(LOOPBACK, self.tls_port)
            ):
                return
            time.sleep(POLL_INTERVAL_S)
        raise BrokerError(
            f"mosquitto (pid {process.pid}) did not accept connections on ports {self.port} and "
            f"{self.tls_port} within {READY_TIMEOUT_S} s. Its log:\n{self.log_text()}"
        )

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
            raise BrokerError(
                f"mosquitto (pid {process.pid}) ignored {sig.name} for {STOP_TIMEOUT_S} s and "
                f"was killed. Its log:\n{self.log_text()}"
            ) from None
        finally:
            self._process = None

    def kill(self) -> None:
        """SIGKILL by pid, like a power cut for the broker process: no final save."""
        self._signal_and_wait(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM by pid and wait; mosquitto saves its database on the way out."""
        self._signal_and_wait(signal.SIGTERM)

    def restart(self) -> None:
        """Stop gracefully and start again on the same ports with the same data dir."""
        self.stop()
        self.start()


def start_broker(binary: Path, out_dir: Path) -> Broker:
    """Write a relay setup for the two test couples on free ports and start mosquitto."""
    last_error: BrokerPortInUseError | None = None
    for _ in range(START_ATTEMPTS):
        port, tls_port = free_ports(2)
        setup = setup_relay(
            out_dir,
            host=TLS_HOST,
            port=port,
            tls_port=tls_port,
            couples=[COUPLE, OTHER_COUPLE],
            tls_bind_address=LOOPBACK,
            # As root, mosquitto would switch to the 'mosquitto' user, which cannot read the
            # 0600 files written here; as any other user the option has no effect.
            run_as="root" if os.geteuid() == 0 else None,
        )
        broker = Broker.from_setup(binary, setup)
        try:
            broker.start()
        except BrokerPortInUseError as ex:
            last_error = ex
            continue
        return broker
    raise BrokerError(
        f"could not start mosquitto on free ports in {START_ATTEMPTS} attempts; "
        "is something grabbing ports on 127.0.0.1?"
    ) from last_error


def find_mosquitto() -> Path | None:
    override = os.environ.get(MOSQUITTO_ENV)
    if override:
        return Path(override)
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return next((Path(p) for p in MOSQUITTO_FALLBACK_PATHS if Path(p).is_file()), None)


@pytest.fixture(scope="session")
def mosquitto_binary() -> Path:
    binary = find_mosquitto()
    if binary is None or not os.access(binary, os.X_OK):
        pytest.fail(
            f"mosquitto not found (${MOSQUITTO_ENV}, PATH, {', '.join(MOSQUITTO_FALLBACK_PATHS)}); "
            "`make test` installs it",
            pytrace=False,
        )
    # `mosquitto -h` prints its version and exits non-zero; only the text matters.
    result = subprocess.run(  # noqa: PLW1510 - the exit status of -h is meaningless
        [str(binary), "-h"], capture_output=True, text=True, timeout=READY_TIMEOUT_S
    )
    match = _VERSION_RE.search(result.stdout + result.stderr)
    if match is None or int(match[1]) < MIN_MOSQUITTO_MAJOR:
        found = match[0] if match else "an unknown version"
        pytest.fail(
            f"{binary} is {found}; mosquitto {MIN_MOSQUITTO_MAJOR}.x is needed, `make test` installs it",
            pytrace=False,
        )
    return binary


_BROKERS_KEY: Final = pytest.StashKey[list[Broker]]()


@pytest.fixture
def mosquitto_broker(
    mosquitto_binary: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Broker]:
    broker = start_broker(mosquitto_binary, tmp_path / "relay")
    request.node.stash.setdefault(_BROKERS_KEY, []).append(broker)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for broker in item.stash.get(_BROKERS_KEY, []):
            report.sections.append((f"mosquitto log ({call.when})", broker.log_text()))
    return report
