"""``heartline couple invite`` and ``heartline couple join CODE``."""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

from hub.cli.asking import Asker
from hub.cli.parsing import Commands
from hub.cli.setup import add_setup_options, config_path, home_choices, report_written

if TYPE_CHECKING:
    import segno

    from hub.couple.invite import Invite

# A terminal QR wider than this wraps and cannot be scanned; the --qr file has no such limit. A
# code with a relay CA is a version 18 or 19 symbol (97 or 101 columns with its quiet zone; the
# CA's signature and the random keys move it by a few bytes), so the limit leaves room for both.
MAX_TERMINAL_QR_COLUMNS: Final = 110
CODE_FILE_MODE: Final = 0o600  # the code holds the couple key


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    couple = commands.add_parser("couple", help="pair this hub with the partner's")
    couple_commands = couple.add_subparsers(dest="couple_command", required=True, metavar="ACTION")
    invite = couple_commands.add_parser("invite", help="make a one-time code for the partner's hub")
    invite.add_argument("--config", type=Path, required=True, help="this hub's hub.toml")
    invite.add_argument(
        "--partner-login",
        type=Path,
        help="the partner hub's .login file from the relay (its password goes into the code); else asked",
    )
    invite.add_argument("--hours", type=float, default=24.0, help="how long the code works (default 24)")
    invite.add_argument(
        "--out", type=Path, help="also write the code to this file (0600), for `couple join @FILE`"
    )
    invite.add_argument("--qr", type=Path, help="also write the code's QR to this .png or .svg file")
    invite.set_defaults(handler=_invite)
    join = couple_commands.add_parser("join", help="write this hub's whole hub.toml from an invite code")
    join.add_argument("code", help="the HL2-... code the partner's hub made, or @FILE to read it from a file")
    add_setup_options(join)
    join.set_defaults(handler=_join)


def _invite(args: argparse.Namespace) -> int:
    from hub.broker.login import read_login  # noqa: PLC0415
    from hub.config import load_config  # noqa: PLC0415
    from hub.couple.setup import partner_password  # noqa: PLC0415

    config = load_config(args.config)
    if args.partner_login is not None:
        password = partner_password(config, read_login(args.partner_login), args.partner_login)
    else:
        password = Asker.for_command(yes=False).secret(
            "--partner-login", f"{config.hub.partner}'s hub's relay password (from its .login file)"
        )
    return couple_invite(args.config, password, args.hours, sys.stdout, code_file=args.out, qr_file=args.qr)


def couple_invite(
    config_path: Path,
    partner_password: str,
    hours: float,
    out: TextIO,
    *,
    code_file: Path | None = None,
    qr_file: Path | None = None,
) -> int:
    """Print (and write) a one-time code for the partner's hub, made from this hub's relay settings."""
    from hub.config import load_config  # noqa: PLC0415
    from hub.couple.invite import encode  # noqa: PLC0415
    from hub.couple.setup import issue_invite  # noqa: PLC0415

    config = load_config(config_path)
    invite = issue_invite(config, partner_password, lifetime=timedelta(hours=hours), now=datetime.now(UTC))
    code = encode(invite)
    out.write(
        f"Invite code for {config.hub.partner}'s hub (valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC,"
        " works once; it holds your couple key, so share it only with them):\n\n"
        f"{code}\n\n"
    )
    qr = terminal_qr(code)
    if qr is not None:
        out.write(f"{qr}\n(or scan this with a phone and paste it there)\n")
    if code_file is not None:
        _write_private(code_file, code + "\n")
        out.write(f"Wrote the code to {code_file} (0600).\n")
    if qr_file is not None:
        qr_symbol(code).save(str(qr_file), scale=4)
        out.write(f"Wrote its QR to {qr_file}.\n")
    out.write(
        f"\nOn {config.hub.partner}'s hub run:\n  {shlex.join(['heartline', 'couple', 'join', code])}\n"
    )
    if code_file is not None:
        out.write(f"or, with {code_file.name} copied there:\n  heartline couple join @{code_file.name}\n")
    return 0


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CODE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), CODE_FILE_MODE)
        handle.write(text)


def qr_symbol(code: str) -> segno.QRCode:
    import segno  # noqa: PLC0415 - only the invite needs it

    # Level L: a screen is a clean medium. The dashes that help a person read the code aloud
    # are left out (``decode`` ignores them), which keeps the symbol small.
    return segno.make(code.replace("-", ""), error="l")


def terminal_qr(code: str) -> str | None:
    """An invite code as a QR drawn with block characters, for a phone to read off a terminal;
    None when it would be too wide for a terminal (long names make a bigger code: use --qr)."""
    symbol = qr_symbol(code)
    drawing = io.StringIO()
    symbol.terminal(out=drawing, compact=True)  # compact: two module rows per text line
    text = drawing.getvalue()
    if max(len(line) for line in text.splitlines()) > MAX_TERMINAL_QR_COLUMNS:
        return None
    return text


def read_code(code: str) -> str:
    """The code itself, or the contents of FILE for ``@FILE``."""
    from hub.couple.invite import InviteError  # noqa: PLC0415

    if not code.startswith("@"):
        return code
    path = Path(code[1:])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as ex:
        raise InviteError(
            "unreadable", f"{path} cannot be read ({ex.strerror}); copy the code file again"
        ) from ex


def _join(args: argparse.Namespace) -> int:
    from hub.couple.invite import decode  # noqa: PLC0415

    invite = decode(read_code(args.code), datetime.now(UTC))
    return couple_join(invite, args, sys.stdout)


def couple_join(invite: Invite, args: argparse.Namespace, out: TextIO) -> int:
    """Write the joining hub's whole hub.toml (and the relay CA beside it) from an opened invite."""
    from hub.couple.setup import write_joined_config  # noqa: PLC0415

    asker = Asker.for_command(yes=args.yes)
    home = home_choices(
        args, asker, person=invite.joiner_person or None, partner=invite.inviter_person or None
    )
    written = write_joined_config(invite, config_path(args), home, force=args.force)
    out.write(f"Joined couple {invite.couple_id} as hub {invite.joiner_hub_id}.\n")
    report_written(written, out)
    out.write(f"\nStart the hub:  heartline hub --config {written.config_path}\n")
    return 0
