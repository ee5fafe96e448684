"""A private ``dbus-daemon`` for tests: generated config, started and stopped by its pid.

The fake BlueZ and bleak meet on this bus instead of the machine's system bus, so tests
need no root, no ``bluetoothd`` and no adapter. Point bleak at it with
``DBUS_SYSTEM_BUS_ADDRESS=<address>`` (dbus-fast reads it when a ``MessageBus`` is made).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from xml.sax.saxutils import quoteattr

DBUS_DAEMON: Final = "dbus-daemon"
# dbus-daemon prints its address as soon as it listens; on a loaded CI machine this still
# takes well under a second, so 10 s only fires when something is really wrong.
START_TIMEOUT_S: Final = 10.0
STOP_TIMEOUT_S: Final = 5.0
# sun_path is 108 bytes on Linux; keep well below so the daemon never truncates the path.
MAX_SOCKET_PATH: Final = 100

_CONFIG: Final = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user={user}/>
    <allow own="org.bluez"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="signal"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="signal"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""


class PrivateBusError(RuntimeError):
    """The private dbus-daemon could not be started; the message says what to install or check."""


class PrivateBus:
    """One ``dbus-daemon --nofork`` with a generated config in ``directory``."""

    def __init__(self, directory: Path, *, executable: str = DBUS_DAEMON) -> None:
        self.directory = directory
        self.executable = executable
        self.address = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the daemon; returns its address (``unix:path=…,guid=…``)."""
        if self._process is not None:
            raise PrivateBusError("the private bus is already running")
        binary = shutil.which(self.executable)
        if binary is None:
            raise PrivateBusError(
                f"{self.executable!r} not found; install the Debian package 'dbus-daemon' "
                "(apt-get install dbus-daemon) to run the BlueZ-path tests",
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        socket_path = self._socket_path()
        config = self.directory / "bus.conf"
        config.write_text(
            _CONFIG.format(socket=socket_path, user=quoteattr(pwd.getpwuid(os.getuid()).pw_name)),
            encoding="utf-8",
        )
        with (self.directory / "dbus-daemon.log").open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [binary, f"--config-file={config}", "--print-address", "--nofork"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            self.address = self._read_address()
        except BaseException:
            self.stop()
            raise
        return self.address

    def stop(self) -> None:
        """Terminate the daemon by its pid (SIGTERM, then SIGKILL) and remove its socket."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=STOP_TIMEOUT_S)
            if process.stdout is not None:
                process.stdout.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        self.address = ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _socket_path(self) -> Path:
        candidate = self.directory / "bus.sock"
        if len(str(candidate)) <= MAX_SOCKET_PATH:
            return candidate
        # pytest's tmp_path can be deep; a short private directory keeps the path legal.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="hl-dbus-"))
        return self._socket_dir / "bus.sock"

    def _read_address(self) -> str:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=START_TIMEOUT_S):
                raise PrivateBusError(
                    f"dbus-daemon printed no address within {START_TIMEOUT_S:.0f} s; "
                    f"see {self.directory / 'dbus-daemon.log'}",
                )
        line = process.stdout.readline().decode().strip()
        if not line.startswith("unix:"):
            raise PrivateBusError(
                f"dbus-daemon exited (status {process.poll()}) without an address; "
                f"see {self.directory / 'dbus-daemon.log'}",
            )
        return line
