"""Every MQTT broker the conformance suite runs the hub against, behind one face.

Each broker runs on 127.0.0.1 on a free port, started here and stopped (SIGTERM) or crashed
(SIGKILL) by the pid this module started; nothing is ever found or signalled by name, and no
system-wide instance is touched.

- ``mosquitto`` (MQTT 5 and 3.1.1): the relay setup ``heartline broker setup`` writes
  (tests.support.mosquitto), durable, with its ACL.
- ``amqtt`` (MQTT 3.1.1 only, PyPI): its own process (tests/support/amqtt_broker.py); sessions
  and retained messages in memory.
- ``aedes`` (MQTT 3.1.1 only, npm): ``node`` running tests/support/aedes_broker.mjs with the
  packages ``make test`` installs into ``.node/``; in-memory persistence; optionally refusing
  subscriptions under a prefix (SUBACK 0x80), the way its ACL hook denies.
- ``rabbitmq`` (MQTT 3.1.1 through its MQTT plugin, Debian's rabbitmq-server): its own node
  name, data and log dirs, AMQP, MQTT and distribution ports on 127.0.0.1, and its own epmd on
  a free port (ERL_EPMD_PORT), each stopped by its pid. Slow to start: one per test module.

``TestBroker.login(hub_id)`` is the (username, password) a hub uses there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hub.broker.config import Couple
from tests.support.mosquitto import (
    COUPLE,
    LOOPBACK,
    Broker,
    _accepts,
    _die_with_parent_fn,
    find_mosquitto,
    free_ports,
    start_broker,
)

REPO: Final = Path(__file__).resolve().parents[2]
# `make test` installs aedes here (npm --prefix .node).
NODE_DIR: Final = REPO / ".node"
AEDES_SCRIPT: Final = Path(__file__).with_name("aedes_broker.mjs")
RABBITMQ_SERVER: Final = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD: Final = "epmd"
# amqtt and aedes start in about a second; RabbitMQ (an Erlang VM) in 5-20 s on a busy machine.
READY_S: Final = 30.0
RABBITMQ_READY_S: Final = 120.0
STOP_S: Final = 30.0
POLL_S: Final = 0.05
RABBITMQ_LOGIN: Final = ("heartline", "heartline-test")


class BrokerUnavailableError(RuntimeError):
    """A broker's program is not installed here; the message says what installs it."""


def random_couple() -> Couple:
    """Fresh ids, so a broker that outlives one test (RabbitMQ's durable queues) keeps no state
    a later test could mistake for its own."""
    return Couple("c" + secrets.token_hex(5), ("h" + secrets.token_hex(5), "h" + secrets.token_hex(5)))


@dataclass(eq=False)
class ProcessBroker:
    """A broker program started by this module and signalled only by its pid."""

    name: str
    port: int
    workdir: Path
    protocols: tuple[str, ...] = ("mqtt311",)
    durable: bool = False  # keeps sessions and queued messages across a restart and a crash
    ready_s: float = READY_S
    ready_line: str = ""
    host: str = LOOPBACK
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def log_text(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        return f"({self.name} wrote no log)"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def login(self, hub_id: str) -> tuple[str, str]:
        return hub_id, "anything"  # anonymous brokers take any login

    def new_couple(self) -> Couple:
        return random_couple()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.workdir,
                preexec_fn=_die_with_parent_fn(),  # noqa: PLW1509 - only prctl(2)
            )
        deadline = time.monotonic() + self.ready_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}:\n{self.log_text()}")
            new = self.log_text()[offset:] if self.ready_line else ""
            if (not self.ready_line or self.ready_line in new) and _accepts(self.host, self.port):
                return
            time.sleep(POLL_S)
        self.kill()
        raise RuntimeError(
            f"{self.name} did not accept connections within {self.ready_s} s:\n{self.log_text()}"
        )

    def _signal(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, sig)
        try:
            process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_S)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL by pid: the broker vanishes without saving anything."""
        self._signal(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass(eq=False)
class AmqttBroker(ProcessBroker):
    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.support.amqtt_broker", str(self.port)]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


@dataclass(eq=False)
class AedesBroker(ProcessBroker):
    deny_prefix: str = ""  # subscriptions under it are refused (SUBACK 0x80)

    def command(self) -> list[str]:
        # Node resolves `import 'aedes'` from the script's own folder upwards: run a copy in .node/.
        script = NODE_DIR / AEDES_SCRIPT.name
        shutil.copyfile(AEDES_SCRIPT, script)
        return ["node", str(script), str(self.port), *([self.deny_prefix] if self.deny_prefix else [])]


@dataclass(eq=False)
class RabbitBroker(ProcessBroker):
    """RabbitMQ with its MQTT plugin, in its own dirs and ports, with its own epmd."""

    amqp_port: int = 0
    dist_port: int = 0
    epmd_port: int = 0
    node_name: str = ""
    config_lines: tuple[str, ...] = ()  # appended to rabbitmq.conf (a cluster's settings)
    starts_epmd: bool = True  # False: a cluster member using another member's epmd
    _epmd: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def login(self, hub_id: str) -> tuple[str, str]:
        return RABBITMQ_LOGIN

    def command(self) -> list[str]:
        return [str(RABBITMQ_SERVER)]

    def environment(self) -> dict[str, str]:
        base = self.workdir
        config = base / "rabbitmq.conf"
        user, password = RABBITMQ_LOGIN
        config.write_text(
            "\n".join(
                [
                    f"listeners.tcp.default = {LOOPBACK}:{self.amqp_port}",
                    f"mqtt.listeners.tcp.default = {LOOPBACK}:{self.port}",
                    "mqtt.allow_anonymous = false",
                    f"default_user = {user}",
                    f"default_pass = {password}",
                    "loopback_users = none",
                    "log.file.level = info",
                    *self.config_lines,
                    "",
                ]
            ),
            encoding="utf-8",
        )
        (base / "enabled_plugins").write_text("[rabbitmq_mqtt].\n", encoding="utf-8")
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            "HOME": str(base),  # the Erlang cookie lives here, not in root's home
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            # Our own epmd only (started below), and the distribution on loopback.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
            ),
            # The script then execs the Erlang VM, so the pid we hold is the broker's own.
            "RUNNING_UNDER_SYSTEMD": "true",
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_ALLOW_INPUT": "",
        }

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.starts_epmd and (self._epmd is None or self._epmd.poll() is not None):
            with (self.workdir / "epmd.log").open("ab") as out:
                self._epmd = subprocess.Popen(
                    [EPMD, "-port", str(self.epmd_port), "-address", LOOPBACK],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent_fn(),  # noqa: PLW1509 - only prctl(2)
                )
            deadline = time.monotonic() + READY_S
            while not _accepts(LOOPBACK, self.epmd_port):
                if time.monotonic() > deadline or self._epmd.poll() is not None:
                    raise RuntimeError(f"epmd did not start on port {self.epmd_port}")
                time.sleep(POLL_S)
        super().start()

    def close(self) -> None:
        """Stop the broker, then its epmd (both by pid)."""
        self.stop()
        epmd, self._epmd = self._epmd, None
        if epmd is not None and epmd.poll() is None:
            os.kill(epmd.pid, signal.SIGTERM)
            try:
                epmd.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                os.kill(epmd.pid, signal.SIGKILL)
                epmd.wait(timeout=STOP_S)


@dataclass(eq=False)
class MosquittoBroker:
    """The project's own relay setup (tests.support.mosquitto) behind the same face."""

    name: str
    inner: Broker
    protocols: tuple[str, ...] = ("mqtt5", "mqtt311")
    durable: bool = True

    @property
    def host(self) -> str:
        return self.inner.host

    @property
    def port(self) -> int:
        return self.inner.port

    def login(self, hub_id: str) -> tuple[str, str]:
        return hub_id, self.inner.password(hub_id)

    def new_couple(self) -> Couple:
        return COUPLE  # its ACL names the test couples

    def log_text(self) -> str:
        return self.inner.log_text()

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def kill(self) -> None:
        self.inner.kill()

    def restart(self) -> None:
        self.inner.restart()


TestBroker = MosquittoBroker | ProcessBroker


def mosquitto(workdir: Path) -> MosquittoBroker:
    binary = find_mosquitto()
    if binary is None:
        raise BrokerUnavailableError("mosquitto is not installed; `make test` installs it")
    return MosquittoBroker("mosquitto", start_broker(binary, workdir))


def amqtt(workdir: Path) -> AmqttBroker:
    broker = AmqttBroker("amqtt", free_ports(1)[0], workdir, ready_line="amqtt ready on")
    broker.start()
    return broker


def aedes(workdir: Path, *, deny_prefix: str = "") -> AedesBroker:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "aedes").is_dir():
        raise BrokerUnavailableError("aedes is not installed in .node/; `make test` installs it (npm)")
    broker = AedesBroker(
        "aedes", free_ports(1)[0], workdir, ready_line="aedes ready on", deny_prefix=deny_prefix
    )
    broker.start()
    return broker


def rabbit_node(
    name: str,
    workdir: Path,
    *,
    epmd_port: int,
    node_name: str,
    config_lines: tuple[str, ...] = (),
    starts_epmd: bool = True,
) -> RabbitBroker:
    """One RabbitMQ node on free MQTT, AMQP and distribution ports (not started)."""
    mqtt, amqp, dist = free_ports(3)
    return RabbitBroker(
        name,
        mqtt,
        workdir,
        durable=True,
        ready_s=RABBITMQ_READY_S,
        ready_line="completed with",
        amqp_port=amqp,
        dist_port=dist,
        epmd_port=epmd_port,
        node_name=node_name,
        config_lines=config_lines,
        starts_epmd=starts_epmd,
    )


def rabbitmq(workdir: Path) -> RabbitBroker:
    if not RABBITMQ_SERVER.is_file() or shutil.which(EPMD) is None:
        raise BrokerUnavailableError("rabbitmq-server is not installed; `make test` installs it")
    broker = rabbit_node(
        "rabbitmq", workdir, epmd_port=free_ports(1)[0], node_name=f"hl{secrets.token_hex(4)}@localhost"
    )
    try:
        broker.start()
    except BaseException:
        broker.close()
        raise
    return broker
