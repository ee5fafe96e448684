"""A 2-node RabbitMQ cluster on loopback, each node a tests.support.brokers.RabbitBroker.

Each node has its own name, data and log dirs and AMQP, MQTT and distribution ports; both share
one Erlang cookie (written into each node's HOME) and one epmd (started by the first node, on a
free port), so they can find each other and nothing else. The second node joins the first by
classic config peer discovery when it boots with an empty data dir. Everything is stopped by the
pids started here.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.support.brokers import EPMD, RABBITMQ_SERVER, BrokerUnavailableError, RabbitBroker, rabbit_node
from tests.support.mosquitto import free_ports

RABBITMQCTL: Final = RABBITMQ_SERVER.with_name("rabbitmqctl")
# rabbitmqctl boots an Erlang VM of its own: seconds on a busy machine.
CTL_TIMEOUT_S: Final = 120.0
COOKIE_FILE: Final = ".erlang.cookie"
# The classic mirroring policy docs/hosted-relay.md shows: every MQTT session queue gets a copy
# on every node, kept in sync by the broker, so either node can serve it when the other is down.
SESSION_POLICY_NAME: Final = "mqtt-sessions"
SESSION_POLICY_PATTERN: Final = "^mqtt-subscription-"
SESSION_POLICY: Final = '{"ha-mode": "all", "ha-sync-mode": "automatic"}'


@dataclass(eq=False)
class RabbitCluster:
    nodes: tuple[RabbitBroker, RabbitBroker]

    @property
    def names(self) -> list[str]:
        return [node.node_name for node in self.nodes]

    def ctl(self, node: RabbitBroker, *args: str) -> str:
        """rabbitmqctl against one node (its cookie and the cluster's epmd); its output."""
        env = {k: v for k, v in node.environment().items() if not k.startswith("RABBITMQ_")}
        done = subprocess.run(
            [str(RABBITMQCTL), "-n", node.node_name, *args],
            env=env,
            cwd=node.workdir,
            capture_output=True,
            text=True,
            timeout=CTL_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def running_nodes(self, node: RabbitBroker) -> list[str]:
        """The cluster's running members as ``node`` sees them."""
        out = self.ctl(node, "eval", 'io:format("~p", [rabbit_nodes:all_running()]).')
        return [name for name in self.names if name in out]

    def mirror_sessions(self) -> None:
        """Apply the session mirroring policy (cluster-wide, so through either node)."""
        self.ctl(
            self.nodes[0],
            "set_policy",
            "--apply-to",
            "queues",
            SESSION_POLICY_NAME,
            SESSION_POLICY_PATTERN,
            SESSION_POLICY,
        )

    def session_queues(self, via: RabbitBroker) -> dict[str, tuple[str, list[str]]]:
        """Each MQTT session queue: the node of its leader and the nodes of its synced mirrors."""
        out = self.ctl(
            via, "list_queues", "--quiet", "--no-table-headers", "name", "pid", "synchronised_slave_pids"
        )
        queues: dict[str, tuple[str, list[str]]] = {}
        for line in out.splitlines():
            name, _, rest = line.partition("\t")
            if name.startswith("mqtt-subscription-"):
                pid, _, mirrors = rest.partition("\t")
                queues[name] = (_node_of(pid), [_node_of(m) for m in mirrors.strip("[]").split(",") if m])
        return queues

    def close(self) -> None:
        """Stop the second node, then the first and the epmd it started (all by pid)."""
        second, first = self.nodes[1], self.nodes[0]
        try:
            second.stop()
        finally:
            first.close()


def _node_of(pid: str) -> str:
    """The node an Erlang pid as rabbitmqctl prints it lives on: <name@host.1.2.3> -> name@host."""
    return pid.strip().strip("<>").split(".", 1)[0]


def rabbitmq_cluster(workdir: Path, config_lines: Sequence[str] = ()) -> RabbitCluster:
    """Start node 1, then node 2 joining it; ``config_lines`` go into both nodes' rabbitmq.conf."""
    if not RABBITMQ_SERVER.is_file() or shutil.which(EPMD) is None:
        raise BrokerUnavailableError("rabbitmq-server is not installed; `make test` installs it")
    tag = secrets.token_hex(3)
    names = (f"hl{tag}a@localhost", f"hl{tag}b@localhost")
    epmd_port = free_ports(1)[0]
    cookie = secrets.token_hex(16).upper()
    discovery = (
        "cluster_formation.peer_discovery_backend = classic_config",
        *(f"cluster_formation.classic_config.nodes.{i} = {name}" for i, name in enumerate(names, 1)),
    )
    nodes: list[RabbitBroker] = []
    for index, name in enumerate(names):
        node_dir = workdir / f"node{index + 1}"
        node_dir.mkdir(parents=True, exist_ok=True)
        cookie_path = node_dir / COOKIE_FILE
        cookie_path.write_text(cookie, encoding="ascii")
        cookie_path.chmod(0o400)  # Erlang refuses a cookie others can read
        nodes.append(
            rabbit_node(
                f"rabbitmq-{index + 1}",
                node_dir,
                epmd_port=epmd_port,
                node_name=name,
                # The first node forms the cluster alone; the second finds it and joins.
                config_lines=(*(discovery if index else ()), *config_lines),
                starts_epmd=index == 0,
            )
        )
    cluster = RabbitCluster((nodes[0], nodes[1]))
    try:
        for node in nodes:
            node.start()
        _check_joined(cluster)
    except BaseException:
        cluster.close()
        raise
    return cluster


def _check_joined(cluster: RabbitCluster) -> None:
    joined = cluster.running_nodes(cluster.nodes[1])
    if joined != cluster.names:
        raise RuntimeError(f"the second node did not join the first: running {joined}")
