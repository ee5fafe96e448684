"""A received signal is committed without waiting for the disk, so delivery reaches the person at
once; its PUBACK waits until the database's log is synced (in a worker thread), so a power cut
before then leaves it with the broker, which delivers it again. The relay runs the hub's real
receive path and database on an OfflineLink (tests.relay.hostile), which records the acks."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import hub.relay.relay as relay_module
from hub.events import Fate
from hub.store.signals import SignalLog
from tests.relay.hostile import genuine, inbound, message_id, receiving_hub
from tests.support.waiting import WAIT_S, eventually


async def test_a_signal_is_delivered_before_its_log_is_synced_and_acknowledged_only_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    release = threading.Event()
    real_sync = relay_module._sync_to_disk

    def held_sync(path: str) -> None:
        release.wait(WAIT_S)  # a slow disk: the sync takes until the test lets it finish
        real_sync(path)
        synced.append(path)

    monkeypatch.setattr(relay_module, "_sync_to_disk", held_sync)
    async with receiving_hub(tmp_path) as hub:
        log = SignalLog(hub.db)

        def delivered() -> bool:
            record = log.get(message_id(1))
            return record is not None and record.fate is Fate.DELIVERED

        hub.couple.relay.receive([inbound(genuine(1), 1)])
        assert hub.stored(1)  # committed before anything else happens
        await eventually(delivered, what="delivery reaching the person while the sync waits")
        await asyncio.sleep(0.1)  # a PUBACK sent early would have been sent by now
        assert hub.link.acked == 0
        release.set()
        await eventually(lambda: hub.link.acked == 1, what="the PUBACK once the log is on disk")
        assert synced == [f"{hub.db.path}-wal"]


async def test_a_sync_that_fails_leaves_the_signal_unacknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing_sync(path: str) -> None:
        raise OSError(5, "Input/output error", path)

    monkeypatch.setattr(relay_module, "_sync_to_disk", failing_sync)
    async with receiving_hub(tmp_path) as hub:
        hub.couple.relay.receive([inbound(genuine(1), 1)])
        await eventually(
            lambda: any("cannot sync 1 relay messages" in r.getMessage() for r in caplog.records),
            what="the failed sync logged",
        )
        assert hub.link.acked == 0  # the broker keeps it and delivers it again; the inbox knows it
        assert hub.stored(1)


async def test_acknowledgements_keep_the_order_their_messages_arrived_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_sync = relay_module._sync_to_disk

    def held_sync(path: str) -> None:
        release.wait(WAIT_S)
        real_sync(path)

    monkeypatch.setattr(relay_module, "_sync_to_disk", held_sync)
    async with receiving_hub(tmp_path) as hub:
        relay = hub.couple.relay
        relay.receive([inbound(genuine(1), 1)])  # its PUBACK waits for the sync
        relay.receive([inbound(b"not sealed at all", 2)])  # refused, acknowledged without a sync
        await asyncio.sleep(0.1)  # an acknowledgement sent out of turn would have been sent by now
        assert hub.link.acked_mids == ()
        release.set()
        await eventually(lambda: hub.link.acked == 2, what="both acknowledged")
        assert list(hub.link.acked_mids) == [1, 2]  # MQTT: PUBACKs in the order the PUBLISHes came
