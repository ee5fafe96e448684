"""Invite codes work once, over the real relay: the joined hub's hello redeems the code's nonce
at the inviting hub; the same code used again (a second device) or an unknown one is refused,
counted and explained in one log line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from hub.couple.hello import pending_hello, queue_hello
from hub.couple.invite import Invite
from hub.couple.ledger import InviteLedger
from hub.couple.link import joiner_link, write_link
from tests.relay.node import COUPLE_KEY, RelayNode, describe, node_config
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import eventually


def _issue(inviter_dir: Path) -> Invite:
    secret = PrivateKey.generate()
    invite = Invite.new(
        broker="mqtt://127.0.0.1:1883",
        couple_id=COUPLE.couple_id,
        inviter_hub_id=COUPLE.hubs[0],
        joiner_hub_id=COUPLE.hubs[1],
        couple_key=COUPLE_KEY,
        joiner_password="unused-here",
        invite_public=bytes(secret.public_key),
        now=datetime.now(UTC),
        lifetime=timedelta(hours=1),
    )
    InviteLedger(inviter_dir).issued(invite, bytes(secret))
    return invite


def _joined(data_dir: Path, invite: Invite, nonce: str | None = None) -> None:
    """What `heartline couple join` leaves behind in the joined hub's data dir."""
    write_link(data_dir, joiner_link(bytes.fromhex(COUPLE_KEY), invite.invite_public, nonce or invite.nonce))


async def _joiner(broker: Broker, data_dir: Path) -> RelayNode:
    node = RelayNode(node_config(broker, 1, data_dir))
    await node.start()
    assert queue_hello(node.couple.hello, data_dir)
    return node


async def test_the_first_hello_redeems_the_code(mosquitto_broker: Broker, tmp_path: Path) -> None:
    invite = _issue(tmp_path / "a")
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    await a.start()
    _joined(tmp_path / "b", invite)
    b = await _joiner(mosquitto_broker, tmp_path / "b")
    await eventually(lambda: b.couple.hello.result, what=f"the hello answered; {describe(b)}")
    assert b.couple.hello.result == (True, None)
    assert pending_hello(tmp_path / "b") is None  # answered: not sent again at the next start
    assert b.relay.outbox_depth == 0
    assert not queue_hello(b.couple.hello, tmp_path / "b")
    assert a.relay.rejected == {}
    with pytest.raises(ValueError, match="already used"):
        InviteLedger(tmp_path / "a").redeem(invite.nonce, datetime.now(UTC))
    await a.stop()
    await b.stop()


async def test_a_second_device_with_the_same_code_is_refused(
    mosquitto_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    invite = _issue(tmp_path / "a")
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    await a.start()
    _joined(tmp_path / "b", invite)
    b = await _joiner(mosquitto_broker, tmp_path / "b")
    await eventually(lambda: b.couple.hello.result, what="the first hello answered")
    await b.stop()
    # Another device joins with the very same code (same credentials, its own data dir).
    _joined(tmp_path / "b2", invite)
    with caplog.at_level(logging.WARNING, logger="hub.relay.relay"):
        second = await _joiner(mosquitto_broker, tmp_path / "b2")
        await eventually(lambda: second.couple.hello.result, what="the second hello answered")
    assert second.couple.hello.result == (False, "invite_reused")
    assert a.relay.rejected["invite_reused"] == 1
    refusals = [r.getMessage() for r in caplog.records if "refused a hello" in r.getMessage()]
    assert len(refusals) == 1
    assert "already used" in refusals[0]
    assert "\n" not in refusals[0]
    await a.stop()
    await second.stop()


async def test_an_unknown_code_is_refused(mosquitto_broker: Broker, tmp_path: Path) -> None:
    invite = _issue(tmp_path / "a")
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    await a.start()
    _joined(tmp_path / "b", invite, "0123456789abcdef")
    b = await _joiner(mosquitto_broker, tmp_path / "b")
    await eventually(lambda: b.couple.hello.result, what="the hello answered")
    assert b.couple.hello.result == (False, "invite_unknown")
    assert a.relay.rejected["invite_unknown"] == 1
    await a.stop()
    await b.stop()


@pytest.mark.slow
async def test_the_hello_survives_an_offline_partner_and_a_crash(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    invite = _issue(tmp_path / "a")
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    await a.start()
    await a.stop()  # its persistent session keeps what arrives meanwhile
    _joined(tmp_path / "b", invite)
    b = await _joiner(mosquitto_broker, tmp_path / "b")
    await b.crash()
    b = b.reborn()
    await b.start()
    assert queue_hello(b.couple.hello, tmp_path / "b")  # still unanswered: on its way...
    link = pending_hello(tmp_path / "b")
    assert link is not None
    assert not b.couple.hello.send(link)  # ...but not queued twice
    a = a.reborn()
    await a.start()
    await eventually(lambda: b.couple.hello.result, within_s=20, what=f"the hello answered; {describe(b)}")
    assert b.couple.hello.result == (True, None)
    assert a.relay.rejected["invite_reused"] == 0
    await a.stop()
    await b.stop()
