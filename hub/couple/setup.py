"""What each hub does once to become one of a couple: the inviting hub issues a one-time code from
its relay settings; the joining hub writes its hub.toml from that code (through the one writer,
hub.config.write, that ``heartline setup`` uses too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hub.broker.login import RelayLogin
from hub.config import HubConfig
from hub.config.write import (
    ConfigExistsError,
    HomeChoices,
    NewHubConfig,
    RelayChoices,
    WrittenConfig,
    write_hub_config,
)
from hub.couple.invite import Invite
from hub.couple.ledger import InviteLedger
from hub.couple.link import joiner_link, write_link
from hub.errors import HeartlineError

__all__ = ["ConfigExistsError", "InviteSetupError", "issue_invite", "partner_password", "write_joined_config"]


class InviteSetupError(HeartlineError, ValueError):
    """The inviting hub cannot make a code from what it was given; the message says what to do."""


def partner_password(config: HubConfig, login: RelayLogin, source: Path) -> str:
    """The partner hub's password from its login file, after checking it is that hub's login."""
    relay = config.relay
    if login.couple_id != relay.couple_id or login.hub_id != relay.partner_hub_id:
        raise InviteSetupError(
            f"{source} is the login of hub {login.hub_id} (couple {login.couple_id}), but this hub's "
            f"partner is hub {relay.partner_hub_id} (couple {relay.couple_id}); pass the partner hub's "
            "login from the same couple-N folder"
        )
    return login.password


def _ca_der(config: HubConfig) -> bytes | None:
    ca_file = config.relay.ca_file
    if ca_file is None:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(ca_file.read_bytes())
    except (OSError, ValueError) as ex:
        raise InviteSetupError(
            f"relay.ca_file {ca_file} is not a readable PEM certificate ({ex}); "
            "write this hub's config again with `heartline setup --relay-login FILE`"
        ) from ex
    return certificate.public_bytes(Encoding.DER)


def issue_invite(config: HubConfig, partner_password: str, *, lifetime: timedelta, now: datetime) -> Invite:
    """A code for the partner's hub, recorded in this hub's ledger (with the private half of the
    code's one-time key) so it is redeemed at most once, before it expires."""
    from nacl.public import PrivateKey  # noqa: PLC0415

    relay = config.relay
    secret = PrivateKey.generate()
    invite = Invite.new(
        broker=relay.broker,
        couple_id=relay.couple_id,
        inviter_hub_id=relay.hub_id,
        joiner_hub_id=relay.partner_hub_id,
        couple_key=relay.couple_key,
        joiner_password=partner_password,
        invite_public=bytes(secret.public_key),
        now=now,
        lifetime=lifetime,
        ca_der=_ca_der(config),
        inviter_person=config.hub.person,
        joiner_person=config.hub.partner,
    )
    InviteLedger(config.hub.data_dir).issued(invite, bytes(secret))
    return invite


def ca_pem(invite: Invite) -> bytes | None:
    if invite.ca_der is None:
        return None
    return x509.load_der_x509_certificate(invite.ca_der).public_bytes(Encoding.PEM)


def write_joined_config(
    invite: Invite, config_path: Path, home: HomeChoices, *, force: bool = False
) -> WrittenConfig:
    """Write the joining hub's whole hub.toml and the relay CA beside it, and keep the link (its
    own half of the one-time key agreement, hub.couple.link) in the data dir for the first hello."""
    written = write_hub_config(
        config_path,
        NewHubConfig(
            home=home,
            relay=RelayChoices(
                broker=invite.broker,
                hub_id=invite.joiner_hub_id,
                partner_hub_id=invite.inviter_hub_id,
                couple_id=invite.couple_id,
                password=invite.joiner_password,
                ca_pem=ca_pem(invite),
            ),
            couple_key=invite.couple_key,
        ),
        written_by="heartline couple join",
        force=force,
    )
    # For the first hello over the relay, where the inviting hub redeems the code once.
    link = joiner_link(bytes.fromhex(invite.couple_key), invite.invite_public, invite.nonce)
    write_link(home.data_dir, link)
    return written
