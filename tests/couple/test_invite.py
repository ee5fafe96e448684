"""Invite codes: round trip, tamper-evident, expire, redeemed once; join writes a valid hub.toml."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.cli.couple import couple_invite, couple_join, terminal_qr
from hub.config import load_config
from hub.couple.hello import stored_nonce
from hub.couple.invite import NONCE_FILE, Invite, InviteError, decode, encode
from hub.couple.ledger import InviteLedger

NOW = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)


def _invite() -> Invite:
    return Invite.new(
        broker="mqtts://relay.example.net:8883",
        couple_id="c5e1d2a9f0",
        inviter_hub_id="h7f3a9c2e1b",
        joiner_hub_id="h2b8d4e6f0a",
        couple_key="5a" * 32,
        joiner_password="pw-for-sam",
        now=NOW,
    )


def test_round_trip_and_expiry() -> None:
    invite = _invite()
    code = encode(invite)
    assert code.startswith("HL1-")
    assert decode(code, NOW + timedelta(hours=23)) == invite
    assert decode(code.lower().replace("-", " "), NOW) == invite  # forgiving of case and spacing
    with pytest.raises(InviteError) as caught:
        decode(code, NOW + timedelta(hours=24))
    assert caught.value.reason == "expired"


def test_a_changed_code_is_refused() -> None:
    code = encode(_invite())
    body = list(code)
    position = len(code) - 10
    body[position] = "A" if body[position] != "A" else "B"
    with pytest.raises(InviteError) as caught:
        decode("".join(body), NOW)
    assert caught.value.reason in {"tampered", "malformed"}
    with pytest.raises(InviteError):
        decode("HL1-NOT-A-CODE", NOW)


def test_redeemed_once(tmp_path: Path) -> None:
    ledger = InviteLedger(tmp_path)
    invite = _invite()
    ledger.issued(invite)
    ledger.redeem(invite.nonce, NOW)
    with pytest.raises(InviteError) as caught:
        ledger.redeem(invite.nonce, NOW)
    assert caught.value.reason == "used"
    with pytest.raises(InviteError) as unknown:
        ledger.redeem("0" * 16, NOW)
    assert unknown.value.reason == "unknown"


def test_invite_then_join_writes_the_partners_config(tmp_path: Path) -> None:
    inviter = tmp_path / "a.toml"
    inviter.write_text(
        f"""
[hub]
person = "Alex"
partner = "Sam"
data_dir = "{tmp_path / "a"}"

[relay]
broker = "mqtts://relay.example.net:8883"
hub_id = "h7f3a9c2e1b"
partner_hub_id = "h2b8d4e6f0a"
couple_id = "c5e1d2a9f0"
couple_key = "{"5a" * 32}"
password = "pw-for-alex"
""",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert couple_invite(inviter, "pw-for-sam", 24, out) == 0
    code = next(line for line in out.getvalue().splitlines() if line.startswith("HL1-"))
    qr = terminal_qr(code)
    assert qr in out.getvalue()  # the QR printed is the code printed, for a phone to scan
    assert decode(code.replace("-", ""), datetime.now(UTC)) == decode(code, datetime.now(UTC))
    width = max(len(line) for line in qr.splitlines())
    assert width <= 100, f"the QR is {width} columns: too wide for a terminal"
    joined = tmp_path / "b.toml"
    assert couple_join(code, joined, person="Sam", partner="Alex", data_dir=tmp_path / "b", out=out) == 0
    config = load_config(joined)
    assert config.relay.hub_id == "h2b8d4e6f0a"
    assert config.relay.partner_hub_id == "h7f3a9c2e1b"
    assert config.relay.couple_key == "5a" * 32
    assert config.relay.password == "pw-for-sam"
    assert joined.stat().st_mode & 0o077 == 0  # holds the couple key: owner only
    nonce = (tmp_path / "b" / "invite_nonce").read_text(encoding="utf-8")
    InviteLedger(tmp_path / "a").redeem(nonce, datetime.now(UTC))
    assert couple_join(code, joined, person="Sam", partner="Alex", data_dir=tmp_path / "b", out=out) == 1


def test_the_same_hello_redeeming_again_is_not_a_second_use(tmp_path: Path) -> None:
    ledger = InviteLedger(tmp_path)
    invite = _invite()
    ledger.issued(invite)
    ledger.redeem(invite.nonce, NOW, by="hello-1")
    ledger.redeem(invite.nonce, NOW, by="hello-1")  # its answer was never stored: same hello again
    assert ledger.redeemed_by("hello-1")
    assert not ledger.redeemed_by("hello-2")
    with pytest.raises(InviteError) as caught:
        ledger.redeem(invite.nonce, NOW, by="hello-2")
    assert caught.value.reason == "used"


def test_stored_nonce(tmp_path: Path) -> None:
    assert stored_nonce(tmp_path) is None
    (tmp_path / NONCE_FILE).write_text("  abc123\n", encoding="utf-8")
    assert stored_nonce(tmp_path) == "abc123"
    (tmp_path / NONCE_FILE).write_text("", encoding="utf-8")
    assert stored_nonce(tmp_path) is None
