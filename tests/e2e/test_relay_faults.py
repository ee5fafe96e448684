"""The relay under faults, on real parts: mosquitto killed by pid, a TCP proxy that cuts and
black-holes, hubs that crash mid-message, a full disk, skewed clocks, a partner away for days.

Each test ends with the same two facts: every signal reached the person (zero lost) and the
person was reached once per signal (zero duplicates shown).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import ManualClock
from hub.events import Fate, SignalKind
from hub.relay.mqtt_link import MqttLink
from tests.relay.node import (
    AcklessLink,
    RelayNode,
    SkewedClock,
    SwallowingLink,
    all_settled,
    node_config,
)
from tests.support.mosquitto import Broker
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import WAIT_S, eventually

# Real mosquitto killed and restarted, proxies that cut and black-hole, keepalives that must
# lapse: seconds each, and generous bounds for a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
KEEPALIVE_S = 5


async def _started(node: RelayNode) -> RelayNode:
    await node.start()
    return node


@pytest.fixture
async def proxy(mosquitto_broker: Broker) -> AsyncIterator[TcpProxy]:
    async with TcpProxy(mosquitto_broker.port) as running:
        yield running


def _assert_exactly_once(receiver: RelayNode, ids: set[str]) -> None:
    assert receiver.person.duplicates() == {}
    assert set(receiver.person.shown) == ids
    assert {s.id for s in receiver.received()} == ids


async def test_broker_sigkill_and_restart_lose_nothing(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a")))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    ids: set[str] = set()
    for _round in range(3):
        await eventually(
            lambda: a.link.connected.is_set() and b.link.connected.is_set(), what="both hubs back online"
        )
        ids |= {a.send().id for _ in range(5)}
        await asyncio.sleep(0.05)  # some confirmed by the broker but not saved yet, some in flight
        mosquitto_broker.kill()
        ids |= {a.send().id for _ in range(3)}  # while the broker is down
        await asyncio.sleep(0.2)
        mosquitto_broker.start()
    await eventually(lambda: all_settled(a, ids), what="every signal delivered and receipted")
    _assert_exactly_once(b, ids)
    assert a.link.reconnects >= 3
    await a.stop()
    await b.stop()


async def test_network_cut_loses_nothing(mosquitto_broker: Broker, proxy: TcpProxy, tmp_path: Path) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a", port=proxy.port)))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    ids = {a.send().id for _ in range(5)}
    assert proxy.cut(refuse=True) >= 1
    ids |= {a.send().id for _ in range(5)}  # into the cut
    await eventually(lambda: not a.link.connected.is_set(), what="A to notice the cut")
    await asyncio.sleep(1.0)
    proxy.heal()
    ids |= {a.send().id for _ in range(5)}
    await eventually(lambda: all_settled(a, ids), what="every signal delivered after the cut")
    _assert_exactly_once(b, ids)
    await a.stop()
    await b.stop()


async def test_silent_black_hole_is_detected_by_keepalive(
    mosquitto_broker: Broker, proxy: TcpProxy, tmp_path: Path
) -> None:
    a = await _started(
        RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a", port=proxy.port, keepalive_s=KEEPALIVE_S))
    )
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    proxy.blackhole()  # sockets stay open; every byte vanishes
    started = asyncio.get_running_loop().time()
    ids = {a.send().id for _ in range(3)}
    await eventually(lambda: not a.link.connected.is_set(), what="keepalive to detect it")
    detected_after = asyncio.get_running_loop().time() - started
    # paho gives up one keepalive after an unanswered PINGREQ; its loop looks about once a
    # second, and a busy machine adds to that. Without keepalive, TCP would take many minutes.
    assert detected_after <= 2 * KEEPALIVE_S + 3
    assert b.person.shown == []
    proxy.heal()
    await eventually(lambda: all_settled(a, ids), what="delivery once the path is back")
    _assert_exactly_once(b, ids)
    await a.stop()
    await b.stop()


async def test_receiver_killed_after_receive_before_commit(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a")))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"), link_class=SwallowingLink))
    assert isinstance(b.link, SwallowingLink)
    b.link.swallow = True  # paho gets the PUBLISH, the process dies before the hub sees it
    ids = {a.send().id for _ in range(3)}
    await eventually(
        lambda: all(s.fate is Fate.SENT for s in a.sent()), what="the broker to confirm A's signals"
    )
    await asyncio.sleep(0.3)
    await b.crash()
    assert b.person.shown == []
    b2 = await _started(b.reborn())
    await eventually(lambda: all_settled(a, ids), what="redelivery after B's restart")
    _assert_exactly_once(b2, ids)
    await a.stop()
    await b2.stop()


async def test_receiver_killed_between_commit_and_ack(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a")))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"), link_class=AcklessLink))
    assert isinstance(b.link, AcklessLink)
    b.link.hold_acks = True  # stored and delivered, but the PUBACK never leaves
    ids = {a.send().id for _ in range(3)}
    await eventually(lambda: set(b.person.shown) == ids, what="B to store and show the signals")
    await b.crash()
    b2 = await _started(b.reborn())
    # The broker redelivers all three (never acknowledged); B knows them and only re-acks.
    await eventually(lambda: b2.relay.rejected["duplicate"] >= 3, what="the broker to redeliver")
    await eventually(lambda: all_settled(a, ids), what="receipts to reach A")
    _assert_exactly_once(b2, ids)
    await a.stop()
    await b2.stop()


async def test_partner_offline_for_three_days_with_hundreds_queued(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    a = await _started(
        RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"), clock=clock, resend_first_s=60.0)
    )
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    await b.stop()  # B's session stays on the broker; B is away for three days
    ids = {a.send().id for _ in range(200)}
    await eventually(lambda: all(s.fate is Fate.SENT for s in a.sent()), what="the broker to take them all")
    for _step in range(6):  # three days, looked at every twelve hours
        clock.advance(12 * 3600)
        a.relay.poke()
        await eventually(
            lambda: not a.relay._outbox.due(clock.now()) and not a.relay._in_flight,
            what="A's resends to be confirmed",
        )
    attempts = [r[0] for r in a.db.connection.execute("SELECT attempts FROM outbox")]
    assert len(attempts) == 200
    assert max(attempts) <= 7  # backoff: one send plus one resend per look, never a storm
    b2 = await _started(b.reborn())
    await eventually(
        lambda: all_settled(a, ids), within_s=2 * WAIT_S, what="all 200 delivered after three days"
    )
    _assert_exactly_once(b2, ids)
    await a.stop()
    await b2.stop()


async def test_clock_skew_between_hubs(mosquitto_broker: Broker, tmp_path: Path) -> None:
    # A runs five hours fast, B two days slow: ordering, de-duplication and receipts never
    # compare one hub's clock with the other's.
    a = await _started(
        RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"), clock=SkewedClock(timedelta(hours=5)))
    )
    b = await _started(
        RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"), clock=SkewedClock(timedelta(days=-2)))
    )
    to_b = {a.send().id for _ in range(10)}
    to_a = {b.send(SignalKind.CELEBRATE).id for _ in range(10)}
    await eventually(lambda: all_settled(a, to_b) and all_settled(b, to_a), what="both ways")
    _assert_exactly_once(b, to_b)
    _assert_exactly_once(a, to_a)
    await a.stop()
    await b.stop()


def _fill_until_full(node: RelayNode) -> None:
    """Make the receiver's disk 'full': cap the database at its size and fill the inbox's pages."""
    connection = node.db.connection
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match="full"):  # noqa: PT012 - fill until it fails
        for n in range(100_000):
            connection.execute(
                "INSERT INTO inbox (id, received_at) VALUES (?, ?)", (f"filler-{n:08d}", "2025-01-01")
            )


async def test_disk_full_on_receiver_is_not_acked_and_arrives_later(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a")))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    _fill_until_full(b)
    ids = {a.send().id for _ in range(2)}
    await eventually(lambda: b.relay.rejected["store_failed"] >= 2, what="B to fail storing them")
    assert b.person.shown == []
    assert b.relay.unstored == 2
    # B dies with a full disk; the broker still has both (never acknowledged).
    await b.crash()
    b2 = await _started(b.reborn())  # space freed (a new connection has no page cap)
    await eventually(lambda: all_settled(a, ids), what="delivery once there is room")
    _assert_exactly_once(b2, ids)
    await a.stop()
    await b2.stop()


async def test_disk_full_then_space_freed_without_restart(mosquitto_broker: Broker, tmp_path: Path) -> None:
    a = await _started(RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a")))
    b = await _started(RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b")))
    _fill_until_full(b)
    ids = {a.send().id}
    await eventually(lambda: b.relay.rejected["store_failed"] >= 1, what="B to fail storing it")
    b.db.connection.execute("DELETE FROM inbox WHERE id LIKE 'filler-%'")  # the disk has room again
    await eventually(lambda: all_settled(a, ids), what="the retried commit and receipt")
    _assert_exactly_once(b, ids)
    assert b.relay.unstored == 0
    await a.stop()
    await b.stop()


def test_links_are_the_real_link() -> None:
    assert issubclass(SwallowingLink, MqttLink)
    assert issubclass(AcklessLink, MqttLink)
