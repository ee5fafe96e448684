"""``heartline couple invite`` and ``heartline couple join CODE``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    couple = commands.add_parser("couple", help="pair this hub with the partner's")
    couple_commands = couple.add_subparsers(dest="couple_command", required=True, metavar="ACTION")
    invite = couple_commands.add_parser("invite", help="print a one-time code for the partner's hub")
    invite.add_argument("--config", type=Path, required=True, help="this hub's hub.toml")
    invite.add_argument(
        "--partner-password", required=True, help="the partner hub's broker password (from broker setup)"
    )
    invite.add_argument("--hours", type=float, default=24.0, help="how long the code works (default 24)")
    invite.set_defaults(handler=_invite)
    join = couple_commands.add_parser("join", help="write this hub's hub.toml from an invite code")
    join.add_argument("code", help="the HL1-... code the partner's hub printed")
    join.add_argument("--config", type=Path, required=True, help="where to write hub.toml")
    join.add_argument("--person", required=True, help="who lives in this home")
    join.add_argument("--partner", required=True, help="who the other hub belongs to")
    join.add_argument("--data-dir", type=Path, required=True, help="this hub's data directory")
    join.set_defaults(handler=_join)


def _invite(args: argparse.Namespace) -> int:
    return couple_invite(args.config, args.partner_password, args.hours, sys.stdout)


def _join(args: argparse.Namespace) -> int:
    return couple_join(
        args.code,
        args.config,
        person=args.person,
        partner=args.partner,
        data_dir=args.data_dir,
        out=sys.stdout,
    )


def couple_invite(config_path: Path, partner_password: str, hours: float, out: TextIO) -> int:
    """Print a one-time code for the partner's hub, made from this hub's relay settings."""
    from hub.config import load_config  # noqa: PLC0415
    from hub.couple.invite import Invite, encode  # noqa: PLC0415
    from hub.couple.ledger import InviteLedger  # noqa: PLC0415

    config = load_config(config_path)
    relay = config.relay
    invite = Invite.new(
        broker=relay.broker,
        couple_id=relay.couple_id,
        inviter_hub_id=relay.hub_id,
        joiner_hub_id=relay.partner_hub_id,
        couple_key=relay.couple_key,
        joiner_password=partner_password,
        now=datetime.now(UTC),
        lifetime=timedelta(hours=hours),
    )
    InviteLedger(config.hub.data_dir).issued(invite)
    code = encode(invite)
    out.write(
        f"Invite code for {config.hub.partner}'s hub (valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC,"
        " works once; it holds your couple key, so share it only with them):\n\n"
        f"{code}\n\n{terminal_qr(code)}\n"
        f"On their hub run:  heartline couple join {code[:9]}... --config hub.toml\n"
        "(or scan the code above with a phone and paste it there)\n"
    )
    return 0


def terminal_qr(code: str) -> str:
    """An invite code as a QR drawn with block characters, for a phone to read off a terminal.

    The dashes that help a person read the code aloud are left out (``decode`` ignores them),
    which keeps the symbol small enough for an ordinary terminal's width.
    """
    import segno  # noqa: PLC0415 - only the invite needs it

    drawing = io.StringIO()
    # Level L: a screen is a clean medium; compact=True packs two module rows per text line.
    segno.make(code.replace("-", ""), error="l").terminal(out=drawing, compact=True)
    return drawing.getvalue()


def _toml_value(value: object) -> str:
    return json.dumps(value)  # TOML basic strings, numbers and booleans read like JSON


def couple_join(
    code: str, config_path: Path, *, person: str, partner: str, data_dir: Path, out: TextIO
) -> int:
    """Write the partner hub's hub.toml (``[hub]`` and ``[relay]``) from an invite code."""
    from hub.config import load_config  # noqa: PLC0415
    from hub.couple.invite import NONCE_FILE, decode  # noqa: PLC0415

    invite = decode(code, datetime.now(UTC))
    if config_path.exists():
        out.write(f"{config_path} exists; not overwriting it. Move it aside and run join again.\n")
        return 1
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
    out.write(f"Joined couple {invite.couple_id} as hub {invite.joiner_hub_id}; wrote {config_path}.\n")
    return 0
