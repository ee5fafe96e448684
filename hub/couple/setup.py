"""What each hub does once to become one of a couple: the inviting hub issues a one-time code from
its relay settings; the joining hub writes its hub.toml from that code."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from hub.config import HubConfig, load_config
from hub.couple.invite import NONCE_FILE, Invite
from hub.couple.ledger import InviteLedger
from hub.errors import HeartlineError


class ConfigExistsError(HeartlineError, FileExistsError):
    """Joining never overwrites a hub.toml: it may hold another couple's settings."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} exists")
        self.path = path


def issue_invite(config: HubConfig, partner_password: str, *, lifetime: timedelta, now: datetime) -> Invite:
    """A code for the partner's hub, recorded in this hub's ledger so it is redeemed at most once."""
    relay = config.relay
    invite = Invite.new(
        broker=relay.broker,
        couple_id=relay.couple_id,
        inviter_hub_id=relay.hub_id,
        joiner_hub_id=relay.partner_hub_id,
        couple_key=relay.couple_key,
        joiner_password=partner_password,
        now=now,
        lifetime=lifetime,
    )
    InviteLedger(config.hub.data_dir).issued(invite)
    return invite


def _toml_value(value: object) -> str:
    return json.dumps(value)  # TOML basic strings, numbers and booleans read like JSON


def write_joined_config(
    invite: Invite, config_path: Path, *, person: str, partner: str, data_dir: Path
) -> None:
    """Write the joining hub's hub.toml (``[hub]`` and ``[relay]``, owner-only: it holds the couple
    key) and keep the invite's nonce in ``data_dir`` for the first hello."""
    if config_path.exists():
        raise ConfigExistsError(config_path)
    hub = {"person": person, "partner": partner, "data_dir": str(data_dir)}
    relay = {
        "broker": invite.broker,
        "hub_id": invite.joiner_hub_id,
        "partner_hub_id": invite.inviter_hub_id,
        "couple_id": invite.couple_id,
        "couple_key": invite.couple_key,
        "password": invite.joiner_password,
    }
    lines = ["# Written by 'heartline couple join'.", "[hub]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in hub.items()]
    lines += ["", "[relay]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in relay.items()]
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config_path.chmod(0o600)
    load_config(config_path)  # what we wrote must be a valid config
    # Kept for the first hello over the relay, where the inviting hub redeems it once.
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (data_dir / NONCE_FILE).write_text(invite.nonce, encoding="utf-8")
