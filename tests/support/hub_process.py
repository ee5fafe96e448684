"""A couple's two hubs as real ``heartline hub`` processes: their config files and their lives.

Each hub is written a TOML file as an installer would (``[hub]``, ``[ble]`` on the simulated air,
``[relay]`` to the test mosquitto as one of :data:`tests.support.mosquitto.COUPLE`'s hubs,
``[web]``, ``[[buttons]]``), started as ``python -m hub.cli hub --config FILE`` and stopped by its
own pid (SIGTERM, then SIGKILL past a bound). A failing test's report carries the log of every
hub it started (this module is a pytest plugin, listed in tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import START_S

STOP_BOUND_S: Final = 15.0
# Printed by hub.server once the web app listens and Bluetooth has settled.
READY_LINE: Final = "hub ready on http://"
# The logs of the hubs the running test started (each xdist worker is its own process).
_STARTED_LOGS: list[tuple[str, Path]] = []


@dataclass(frozen=True, slots=True)
class HubButton:
    address: str
    key: bytes
    owner: str


@dataclass(frozen=True, slots=True)
class HubSpec:
    """One home's hub: who lives there, its place in :data:`COUPLE`, its radio on the air."""

    person: str
    partner: str
    hub_index: int  # 0 or 1: which of COUPLE's hub ids this hub is
    radio: str
    web_port: int
    buttons: Sequence[HubButton] = ()
    web: Mapping[str, Any] = field(default_factory=dict)  # more [web] keys (require_password, ...)
    ble: Mapping[str, Any] = field(default_factory=dict)  # more [ble] keys (watchdog_silence_s, ...)


def _toml_table(name: str, values: Mapping[str, Any]) -> str:
    # JSON strings, numbers and booleans are valid TOML values.
    return f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def write_hub_config(path: Path, spec: HubSpec, *, broker: Broker, air_port: int, data_dir: Path) -> Path:
    hub_id = COUPLE.hubs[spec.hub_index]
    tables = [
        _toml_table(
            "hub",
            {
                "name": f"{spec.person}'s home",
                "person": spec.person,
                "partner": spec.partner,
                "data_dir": str(data_dir),
            },
        ),
        _toml_table("ble", {"transport": f"sim:127.0.0.1:{air_port}/{spec.radio}", **spec.ble}),
        _toml_table(
            "relay",
            {
                "broker": f"mqtt://127.0.0.1:{broker.port}",
                "hub_id": hub_id,
                "partner_hub_id": COUPLE.hubs[1 - spec.hub_index],
                "couple_id": COUPLE.couple_id,
                "couple_key": COUPLE_KEY,
                "password": broker.password(hub_id),
            },
        ),
        _toml_table("delivery", {"button_confirm_timeout_s": 5.0}),
        _toml_table("web", {"listen": "127.0.0.1", "port": spec.web_port, **spec.web}),
        *(
            "[[buttons]]\n"
            + "".join(
                f"{key} = {json.dumps(value)}\n"
                for key, value in {"address": b.address, "key": b.key.hex(), "owner": b.owner}.items()
            )
            for b in spec.buttons
        ),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


@dataclass
class HubProcess:
    spec: HubSpec
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.web_port}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def ready(self, within_s: float = START_S) -> None:
        """Wait for the hub's "ready" line; fail with its log if it exits or takes too long."""
        async with asyncio.timeout(within_s):
            while READY_LINE not in self.log_text():
                if self.process.poll() is not None:
                    raise AssertionError(f"the hub exited with {self.process.returncode}:\n{self.log_text()}")
                await asyncio.sleep(0.05)

    async def stop(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            return await asyncio.to_thread(self.process.wait, STOP_BOUND_S)


@contextlib.asynccontextmanager
async def hub_process(
    spec: HubSpec, *, broker: Broker, air_port: int, workdir: Path
) -> AsyncIterator[HubProcess]:
    """A running ``heartline hub`` for ``spec`` (ready), stopped by its pid on the way out."""
    config = write_hub_config(
        workdir / "hub.toml", spec, broker=broker, air_port=air_port, data_dir=workdir / "data"
    )
    log = workdir / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once; every wait below is bounded
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = HubProcess(spec, process, log)
    attach_log_on_failure(spec.person, log)
    try:
        await running.ready()
        yield running
    finally:
        await running.stop()


def attach_log_on_failure(name: str, log: Path) -> None:
    """Carry ``log`` (a hub started some other way) in the running test's report if it fails."""
    _STARTED_LOGS.append((name, log))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for person, log in _STARTED_LOGS:
            if log.exists():
                text = log.read_text("utf-8", "replace")
                report.sections.append((f"{person}'s hub log ({call.when})", text))
    if call.when == "teardown":
        _STARTED_LOGS.clear()
    return report
