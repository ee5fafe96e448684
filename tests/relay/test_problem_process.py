"""A real `heartline hub` process whose relay.ca_file is another relay's CA: the log says why
and how to fix it exactly once across paho's retries, and /api/health shows it as ``reason``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.server import AirServer
from hub.broker.setup import setup_relay
from tests.support.homes import COUPLE_KEY
from tests.support.hub_process import attach_log_on_failure
from tests.support.mosquitto import COUPLE, Broker, free_ports
from tests.support.waiting import START_S, WAIT_S, eventually, eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]  # a real hub process

HUB_RADIO = "B8:27:EB:00:00:0A"
# The broker logs each TLS attempt the hub makes; three mean at least two retries.
ATTEMPTS_SEEN = 3
TLS_REASON = "relay: TLS verification failed for localhost:"


def _write_config(path: Path, broker: Broker, ca_file: Path, air_port: int, web_port: int) -> None:
    hub_id = COUPLE.hubs[0]
    sections: dict[str, dict[str, Any]] = {
        "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(path.parent / "data")},
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{HUB_RADIO}"},
        "relay": {
            "broker": f"mqtts://{broker.tls_host}:{broker.tls_port}",
            "ca_file": str(ca_file),
            "hub_id": hub_id,
            "partner_hub_id": COUPLE.hubs[1],
            "couple_id": COUPLE.couple_id,
            "couple_key": COUPLE_KEY,
            "password": broker.password(hub_id),
        },
        "web": {"listen": "127.0.0.1", "port": web_port},
    }
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
            for name, values in sections.items()
        ),
        encoding="utf-8",
    )


async def test_a_hub_with_the_wrong_ca_says_so_once_and_on_api_health(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    other_plain, other_tls, web_port = free_ports(3)
    other = setup_relay(
        tmp_path / "other", host="localhost", port=other_plain, tls_port=other_tls, couples=[COUPLE]
    )
    assert other.ca_cert_path is not None
    config = tmp_path / "hub.toml"
    air = AirServer()
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air:
        _write_config(config, mosquitto_broker, other.ca_cert_path, air.port, web_port)
        stderr = tmp_path / "hub.stderr"
        attach_log_on_failure("the wrong-CA", stderr)
        with stderr.open("wb") as out:
            process = subprocess.Popen(  # noqa: ASYNC220 - started once; the waits below are bounded
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            async with httpx.AsyncClient() as client:

                async def reason() -> dict[str, Any] | None:
                    if process.poll() is not None:  # e.g. its web port was taken: the log says
                        raise AssertionError(f"the hub exited ({process.returncode}) before a reason")
                    try:
                        body: dict[str, Any] = (
                            await client.get(f"http://127.0.0.1:{web_port}/api/health")
                        ).json()
                    except httpx.TransportError:
                        return None
                    return body if body["reason"] else None

                health = await eventually_async(reason, within_s=START_S, what="a reason on /api/health")
                metrics = (await client.get(f"http://127.0.0.1:{web_port}/metrics")).text
            await eventually(
                lambda: mosquitto_broker.log_text().count("alert unknown ca") >= ATTEMPTS_SEEN,
                within_s=WAIT_S,
                what="the hub to retry",
            )
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, START_S)
    assert code == 0
    assert health["status"] == "degraded"
    assert health["reason"].startswith(TLS_REASON)
    assert f"relay.ca_file ({other.ca_cert_path}) is not the CA" in health["reason"]
    assert health["relay"].startswith("error: TLS verification failed")
    assert health["partner"] == {"online": None, "last_seen": None}
    assert 'heartline_relay_problem{home="home",kind="tls"} 1' in metrics
    assert 'heartline_relay_problem{home="home",kind="login"} 0' in metrics
    assert "heartline_partner_hub_online{" not in metrics  # unknown: no sample
    log = stderr.read_text(encoding="utf-8")
    assert "Traceback" not in log
    logged = [line for line in log.splitlines() if "relay: TLS verification failed" in line]
    assert len(logged) == 1, log
    assert logged[0].endswith(health["reason"])
