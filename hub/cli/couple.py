"""``heartline couple invite`` and ``heartline couple join CODE``."""

from __future__ import annotations

import argparse
import io
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
    from hub.couple.invite import encode  # noqa: PLC0415
    from hub.couple.setup import issue_invite  # noqa: PLC0415

    config = load_config(config_path)
    invite = issue_invite(config, partner_password, lifetime=timedelta(hours=hours), now=datetime.now(UTC))
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


def couple_join(
    code: str, config_path: Path, *, person: str, partner: str, data_dir: Path, out: TextIO
) -> int:
    """Write the partner hub's hub.toml (``[hub]`` and ``[relay]``) from an invite code."""
    from hub.couple.invite import decode  # noqa: PLC0415
    from hub.couple.setup import ConfigExistsError, write_joined_config  # noqa: PLC0415

    invite = decode(code, datetime.now(UTC))
    try:
        write_joined_config(invite, config_path, person=person, partner=partner, data_dir=data_dir)
    except ConfigExistsError:
        out.write(f"{config_path} exists; not overwriting it. Move it aside and run join again.\n")
        return 1
    out.write(f"Joined couple {invite.couple_id} as hub {invite.joiner_hub_id}; wrote {config_path}.\n")
    return 0
