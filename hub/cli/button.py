"""``heartline button add|list|pair|remove|key|listen``: manage a running hub's buttons through its local API.

Keys travel only in the request to the hub (stored 0600, never logged or echoed back). The one
exception is ``key --show``, which prints a button's BTHome bindkey for the couple's own Home
Assistant, after the user types the button's id again (or ``--yes`` in a script).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, Final

from hub.cli.client import HubAnswerError, call_hub
from hub.cli.parsing import Commands, add_hub_option
from hub.errors import HeartlineError

# Room for the HTTP round trip on top of the hub's own bounds while pairing.
HTTP_MARGIN_S: Final = 10.0
# The listen periods a wearable takes (device/command.py LISTEN_MIN_S..LISTEN_MAX_S).
LISTEN_MIN_S: Final = 10
LISTEN_MAX_S: Final = 3600
# The hub waits at most one period, its grace (5 s + 10 %) and the command itself; this covers it.
LISTEN_GRACE_FRACTION: Final = 0.1
LISTEN_MARGIN_S: Final = 120.0


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    button = commands.add_parser("button", help="manage a running hub's buttons")
    button_commands = button.add_subparsers(dest="button_command", required=True, metavar="ACTION")
    add = button_commands.add_parser("add", help="register an off-the-shelf BTHome button (e.g. Shelly BLU)")
    add.add_argument("--bthome", metavar="ADDRESS", required=True, help="the button's Bluetooth address")
    add.add_argument("--key", required=True, help="its 32-hex-digit BTHome encryption (bind) key")
    add.add_argument("--owner", required=True, help="whose button it is (their touches go to their partner)")
    add.add_argument(
        "--replace",
        action="store_true",
        help="re-key a button already registered at that address (its old key and owner are replaced)",
    )
    add_hub_option(add)
    add.set_defaults(handler=_add)
    listing = button_commands.add_parser("list", help="list registered buttons with battery and last seen")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    add_hub_option(listing)
    listing.set_defaults(handler=_list)
    pair = button_commands.add_parser(
        "pair", help="pair a Heartline button in pairing mode (hold its pad 10 s, let go)"
    )
    pair.add_argument("--owner", required=True, help="whose button it is")
    pair.add_argument("--timeout", type=float, default=60.0, help="seconds to look for it (max 180)")
    pair.add_argument(
        "--replace",
        action="store_true",
        help="re-key a button this hub already knows (after a factory reset); else it is refused",
    )
    add_hub_option(pair)
    pair.set_defaults(handler=_pair)
    remove = button_commands.add_parser("remove", help="forget a button")
    remove.add_argument("id", type=int, help="its id from `heartline button list`")
    add_hub_option(remove)
    remove.set_defaults(handler=_remove)
    key = button_commands.add_parser(
        "key", help="print a button's BTHome bindkey, for Home Assistant (docs/home-assistant.md)"
    )
    key.add_argument(
        "--show", metavar="ID", type=int, required=True, help="the button's id from `heartline button list`"
    )
    key.add_argument("--yes", action="store_true", help="do not ask to type the id again (scripts)")
    add_hub_option(key)
    key.set_defaults(handler=_key)
    listen = button_commands.add_parser(
        "listen", help="set how often a sleepy wearable listens for its hub (it applies in its next window)"
    )
    listen.add_argument("id", type=int, help="its id from `heartline button list`")
    listen.add_argument(
        "--every",
        metavar="SECONDS",
        type=_listen_period,
        required=True,
        help=f"seconds between listen windows ({LISTEN_MIN_S}..{LISTEN_MAX_S}); a command may wait this long",
    )
    add_hub_option(listen)
    listen.set_defaults(handler=_listen)


def _listen_period(text: str) -> int:
    try:
        period = int(text)
    except ValueError:
        period = 0
    if not LISTEN_MIN_S <= period <= LISTEN_MAX_S:
        raise argparse.ArgumentTypeError(
            f"must be whole seconds from {LISTEN_MIN_S} to {LISTEN_MAX_S}, not {text!r}"
        )
    return period


def _listen(args: argparse.Namespace) -> int:
    return button_listen(args.hub, button_id=args.id, period_s=args.every)


def _add(args: argparse.Namespace) -> int:
    return button_add(
        args.hub, address=args.bthome, key=args.key, owner=args.owner, kind="bthome", replace=args.replace
    )


def _list(args: argparse.Namespace) -> int:
    return button_list(args.hub, as_json=args.json)


def _pair(args: argparse.Namespace) -> int:
    return button_pair(args.hub, args.owner, args.timeout, replace=args.replace)


def _remove(args: argparse.Namespace) -> int:
    return button_remove(args.hub, button_id=args.id)


def _key(args: argparse.Namespace) -> int:
    return button_key(args.hub, button_id=args.show, yes=args.yes)


def button_add(hub: str, *, address: str, key: str, owner: str, kind: str, replace: bool = False) -> int:
    """Register a button; a known address is refused (one line naming ``--replace``) unless
    ``replace``."""
    body: dict[str, Any] = {"kind": kind, "address": address, "key": key, "owner": owner}
    if replace:
        body["replace"] = True
    created = call_hub(hub, "POST", "/api/buttons", body)
    print(
        f"registered button {created['id']}: {created['address']} ({created['kind']}) for {created['owner']}"
    )
    return 0


def button_list(hub: str, *, as_json: bool) -> int:
    buttons = call_hub(hub, "GET", "/api/buttons")
    if as_json:
        print(json.dumps(buttons, indent=2))
        return 0
    if not buttons:
        print("no buttons registered; add one with `heartline button add`")
        return 0
    print(f"{'id':>3}  {'address':17}  {'kind':9}  {'owner':12}  {'battery':>7}  last seen")
    for b in buttons:
        battery = f"{b['battery']}%" if b["battery"] is not None else "-"
        seen = b["last_seen"] or "never"
        print(f"{b['id']:>3}  {b['address']:17}  {b['kind']:9}  {b['owner'][:12]:12}  {battery:>7}  {seen}")
    return 0


def button_pair(hub_url: str, owner: str, timeout_s: float, *, replace: bool = False) -> int:
    """Ask the hub to pair the button in pairing mode for ``owner``; prints what happened.

    The hub owns the adapter and the database, so this only asks it (``POST /api/buttons/pair``)
    and waits longer than other commands: finding the button can take ``timeout_s`` and the
    exchange up to ``hub.ble.pairing.EXCHANGE_TIMEOUT_S`` more.
    """
    from hub.ble.pairing import EXCHANGE_TIMEOUT_S  # noqa: PLC0415 - bleak is heavy for `--help`

    print(f"looking for a button in pairing mode for up to {timeout_s:g} s ...", flush=True)
    try:
        paired: dict[str, Any] = call_hub(
            hub_url,
            "POST",
            "/api/buttons/pair",
            {"owner": owner, "timeout_s": timeout_s, **({"replace": True} if replace else {})},
            timeout_s=timeout_s + EXCHANGE_TIMEOUT_S + HTTP_MARGIN_S,
        )
    except HubAnswerError as ex:
        raise HubAnswerError(ex.status, ex.detail, prefix="pairing failed") from ex
    print(
        f"paired button {paired['id']}: {paired['address']} for {paired['owner']}; "
        "it buzzed and glowed green to confirm"
    )
    return 0


def button_remove(hub: str, *, button_id: int) -> int:
    call_hub(hub, "DELETE", f"/api/buttons/{button_id}")
    print(f"removed button {button_id}")
    return 0


class NoSuchButtonError(HeartlineError, LookupError):
    def __init__(self, button_id: int) -> None:
        super().__init__(f"no button with id {button_id}; see `heartline button list`")


def _ask_on_stderr(question: str) -> str:
    # The question goes to stderr, so `... | grep` or `key=$(...)` gets the key alone on stdout.
    print(question, end=" ", file=sys.stderr, flush=True)
    return sys.stdin.readline()


def button_key(hub: str, *, button_id: int, yes: bool, ask: Callable[[str], str] = _ask_on_stderr) -> int:
    """Print the button's bindkey (32 hex digits, alone on stdout) once the user has typed its id
    again; 1 without printing it if they typed anything else."""
    button = next((b for b in call_hub(hub, "GET", "/api/buttons") if b["id"] == button_id), None)
    if button is None:
        raise NoSuchButtonError(button_id)
    if not yes:
        answer = ask(
            f"This prints the key that decrypts {button['owner']}'s button's touches; anyone with it "
            "can read them. Type the button id again to show it:"
        )
        if answer.strip() != str(button_id):
            print("The key was not shown.", file=sys.stderr)
            return 1
    shown = call_hub(hub, "POST", f"/api/buttons/{button_id}/key")
    print(shown["bindkey"])
    return 0


def button_listen(hub: str, *, button_id: int, period_s: int) -> int:
    """Ask the hub to give a sleepy button a new listen period; waits for its next window."""
    button = next((b for b in call_hub(hub, "GET", "/api/buttons") if b["id"] == button_id), None)
    if button is None:
        raise NoSuchButtonError(button_id)
    current = button.get("listen_period_s")
    if current is not None:
        print(f"button {button_id} listens every {current} s; waiting for its next window ...", flush=True)
    within = (current or LISTEN_MIN_S) * (1 + LISTEN_GRACE_FRACTION) + LISTEN_MARGIN_S
    try:
        changed = call_hub(
            hub, "PUT", f"/api/buttons/{button_id}/listen_period", {"period_s": period_s}, timeout_s=within
        )
    except HubAnswerError as ex:
        raise HubAnswerError(ex.status, ex.detail, prefix="the listen period was not changed") from ex
    print(
        f"button {button_id} now listens every {changed['listen_period_s']} s "
        f"(a signal for it waits up to {changed['listen_period_s']} s)"
    )
    return 0
