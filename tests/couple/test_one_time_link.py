"""An invite code works once and only before the inviting hub's own expiry, over the real relay
(mosquitto, the hub's own couple link): the first joined hub's signals flow both ways under the
link its hello made; a second device joined with the same code, one sealing with the code's
couple key, or one holding a code edited to live longer can neither send nor receive."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nacl.public import PrivateKey

from hub.couple.invite import Invite, decode, encode
from hub.couple.ledger import InviteLedger
from hub.couple.link import LINK_FILE, joiner_link, read_link, write_link
from hub.events import SignalKind
from tests.relay.node import COUPLE_KEY, RelayNode, all_settled, describe, node_config
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import eventually


def _issue(inviter_dir: Path, *, lifetime: timedelta = timedelta(hours=1)) -> Invite:
    """As `heartline couple invite` does: the code, and the ledger entry holding its secret."""
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
        lifetime=lifetime,
    )
    InviteLedger(inviter_dir).issued(invite, bytes(secret))
    return invite


async def _join(broker: Broker, data_dir: Path, invite: Invite) -> RelayNode:
    """As `heartline couple join` leaves it, then the hub started: its hello on the way."""
    write_link(data_dir, joiner_link(bytes.fromhex(invite.couple_key), invite.invite_public, invite.nonce))
    node = RelayNode(node_config(broker, 1, data_dir))
    await node.start()
    return node


async def _inviter(broker: Broker, data_dir: Path) -> RelayNode:
    node = RelayNode(node_config(broker, 0, data_dir))
    await node.start()
    return node


async def test_a_used_code_can_neither_send_nor_receive(mosquitto_broker: Broker, tmp_path: Path) -> None:
    invite = _issue(tmp_path / "a")
    a = await _inviter(mosquitto_broker, tmp_path / "a")
    b = await _join(mosquitto_broker, tmp_path / "b", invite)
    await eventually(lambda: b.couple.hello.result, what=f"the hello answered; {describe(b)}")
    assert b.couple.hello.result == (True, None)
    link_a, link_b = read_link(tmp_path / "a"), read_link(tmp_path / "b")
    assert link_a is not None
    assert link_b is not None
    assert link_a.key == link_b.key  # both derived the same link...
    assert link_a.key != bytes.fromhex(COUPLE_KEY)  # ...which the code does not hold
    assert (tmp_path / "a" / LINK_FILE).stat().st_mode & 0o777 == 0o600
    ids = {b.send().id, a.send(SignalKind.NEED_YOU).id}
    await eventually(lambda: all_settled(b, ids & {s.id for s in b.sent()}), what=describe(b))
    await eventually(lambda: all_settled(a, ids & {s.id for s in a.sent()}), what=describe(a))
    await b.stop()

    # Another device joins with the very same code: same relay login, same couple key.
    b2 = await _join(mosquitto_broker, tmp_path / "b2", invite)
    await eventually(lambda: b2.couple.hello.result, what=f"the second hello answered; {describe(b2)}")
    assert b2.couple.hello.result == (False, "invite_reused")
    received_before = len(a.received())
    b2.send()
    await eventually(lambda: a.relay.rejected["bad_key_or_tampered"], what=f"refused at A; {describe(a)}")
    sent_by_a = a.send()
    await eventually(
        lambda: b2.relay.rejected["bad_key_or_tampered"], what=f"unreadable at B2; {describe(b2)}"
    )
    assert len(a.received()) == received_before  # nothing of B2's became a signal at A
    assert b2.received() == []
    assert sent_by_a.id not in b2.person.shown
    await a.stop()
    await b2.stop()


async def test_a_device_sealing_with_the_codes_couple_key_is_refused(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    _issue(tmp_path / "a")
    a = await _inviter(mosquitto_broker, tmp_path / "a")
    # A config written from the code, with no link at all: it seals with the couple key.
    stranger = RelayNode(node_config(mosquitto_broker, 1, tmp_path / "s"))
    await stranger.start()
    stranger.send()
    await eventually(lambda: a.relay.rejected["not_joined"], what=f"refused at A; {describe(a)}")
    assert a.received() == []
    await a.stop()
    await stranger.stop()


async def test_a_code_edited_to_live_longer_is_refused(mosquitto_broker: Broker, tmp_path: Path) -> None:
    issued = _issue(tmp_path / "a", lifetime=timedelta(seconds=-1))  # expired in the ledger
    edited = decode(
        encode(dataclasses.replace(issued, expires_at=issued.expires_at + timedelta(days=9))),
        datetime.now(UTC),
    )
    a = await _inviter(mosquitto_broker, tmp_path / "a")
    b = await _join(mosquitto_broker, tmp_path / "b", edited)
    await eventually(lambda: b.couple.hello.result, what=f"the hello answered; {describe(b)}")
    assert b.couple.hello.result == (False, "invite_expired")
    assert read_link(tmp_path / "a") is None  # no link was made
    b.send()
    await eventually(lambda: a.relay.rejected["bad_key_or_tampered"], what=f"refused at A; {describe(a)}")
    assert a.received() == []
    await a.stop()
    await b.stop()
