"""Invite codes: round trip, tamper-evident, expire, redeemed once; join writes a valid hub.toml
with the relay CA beside it."""

from __future__ import annotations

import argparse
import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from nacl.public import PrivateKey

from hub.broker import certs
from hub.cli.couple import MAX_TERMINAL_QR_COLUMNS, couple_invite, couple_join, terminal_qr
from hub.config import load_config
from hub.couple.hello import pending_hello
from hub.couple.invite import Invite, InviteError, decode, encode
from hub.couple.ledger import InviteLedger
from hub.couple.link import LINK_FILE

NOW = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)
COUPLE_KEY = secrets.token_hex(32)
CA = certs.generate_ca()
SECRET = PrivateKey.generate()


def _invite() -> Invite:
    return Invite.new(
        broker="mqtts://relay.example.net:8883",
        couple_id="c5e1d2a9f0",
        inviter_hub_id="h7f3a9c2e1b",
        joiner_hub_id="h2b8d4e6f0a",
        couple_key=COUPLE_KEY,
        joiner_password="pw-for-sam",
        invite_public=bytes(SECRET.public_key),
        now=NOW,
        ca_der=CA.certificate.public_bytes(Encoding.DER),
        inviter_person='Alex "A" 💕',
        joiner_person="Sam",
    )


def test_a_code_from_an_older_heartline_says_so() -> None:
    with pytest.raises(InviteError) as caught:
        decode("HL1-ABCDE-FGHIJ", NOW)
    assert caught.value.reason == "outdated"


def test_round_trip_and_expiry() -> None:
    invite = _invite()
    code = encode(invite)
    assert code.startswith("HL2-")
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
    ledger.issued(invite, bytes(SECRET))
    ledger.redeem(invite.nonce, NOW)
    with pytest.raises(InviteError) as caught:
        ledger.redeem(invite.nonce, NOW)
    assert caught.value.reason == "used"
    with pytest.raises(InviteError) as unknown:
        ledger.redeem("0" * 16, NOW)
    assert unknown.value.reason == "unknown"


def _join_args(config: Path, data_dir: Path, **flags: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "config": config,
        "force": False,
        "yes": True,
        "person": None,
        "partner": None,
        "name": None,
        "timezone": "Europe/Berlin",
        "transport": None,
        "data_dir": data_dir,
        "web_port": None,
        "web_listen": None,
    }
    return argparse.Namespace(**(values | flags))


def test_invite_then_join_writes_the_partners_config(tmp_path: Path) -> None:
    ca_file = tmp_path / "relay-ca.crt"
    ca_file.write_bytes(CA.cert_pem)
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
couple_key = "{COUPLE_KEY}"
password = "pw-for-alex"
ca_file = "{ca_file}"
""",
        encoding="utf-8",
    )
    out = io.StringIO()
    code_file = tmp_path / "invite.txt"
    assert (
        couple_invite(inviter, "pw-for-sam", 24, out, code_file=code_file, qr_file=tmp_path / "qr.png") == 0
    )
    code = next(line for line in out.getvalue().splitlines() if line.startswith("HL2-"))
    assert code_file.read_text().strip() == code
    assert code_file.stat().st_mode & 0o077 == 0
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    qr = terminal_qr(code)
    assert qr is not None
    assert qr in out.getvalue()  # the QR printed is the code printed, for a phone to scan
    assert decode(code.replace("-", ""), datetime.now(UTC)) == decode(code, datetime.now(UTC))
    width = max(len(line) for line in qr.splitlines())
    assert width <= MAX_TERMINAL_QR_COLUMNS, f"the QR is {width} columns: too wide for a terminal"
    joined = tmp_path / "b" / "hub.toml"
    invite = decode(code, datetime.now(UTC))
    assert couple_join(invite, _join_args(joined, tmp_path / "b" / "data"), out) == 0
    config = load_config(joined)
    assert (config.hub.person, config.hub.partner, config.hub.timezone) == ("Sam", "Alex", "Europe/Berlin")
    assert config.relay.hub_id == "h2b8d4e6f0a"
    assert config.relay.partner_hub_id == "h7f3a9c2e1b"
    assert config.relay.couple_key == COUPLE_KEY
    assert config.relay.password == "pw-for-sam"
    assert config.relay.ca_file == tmp_path / "b" / "relay-ca.crt"
    assert x509.load_pem_x509_certificate(config.relay.ca_file.read_bytes()) == CA.certificate
    assert joined.stat().st_mode & 0o077 == 0  # holds the couple key: owner only
    link = pending_hello(tmp_path / "b" / "data")
    assert link is not None
    assert (tmp_path / "b" / "data" / LINK_FILE).stat().st_mode & 0o077 == 0  # holds the link key
    InviteLedger(tmp_path / "a").redeem(link.nonce, datetime.now(UTC))
    with pytest.raises(FileExistsError, match="--force"):
        couple_join(invite, _join_args(joined, tmp_path / "b" / "data"), out)


def test_the_same_hello_redeeming_again_is_not_a_second_use(tmp_path: Path) -> None:
    ledger = InviteLedger(tmp_path)
    invite = _invite()
    ledger.issued(invite, bytes(SECRET))
    ledger.redeem(invite.nonce, NOW, by="hello-1")
    ledger.redeem(invite.nonce, NOW, by="hello-1")  # its answer was never stored: same hello again
    assert ledger.redeemed_by("hello-1")
    assert not ledger.redeemed_by("hello-2")
    with pytest.raises(InviteError) as caught:
        ledger.redeem(invite.nonce, NOW, by="hello-2")
    assert caught.value.reason == "used"


def test_an_unreadable_link_file_is_no_pending_hello(tmp_path: Path) -> None:
    assert pending_hello(tmp_path) is None
    (tmp_path / LINK_FILE).write_text("{}", encoding="utf-8")
    assert pending_hello(tmp_path) is None
