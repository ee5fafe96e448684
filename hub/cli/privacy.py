"""``heartline export`` and ``heartline forget``: the couple's own copy of their history, and erasing it.

Export reads the database directly and read-only (safe while the hub runs). Forget changes it, so
it asks the running hub, the database's one writer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.cli.client import call_hub
from hub.cli.parsing import Commands

if TYPE_CHECKING:
    from hub.privacy.export import ExportFormat

# VACUUM rewrites the whole file: give a big database on an SD card time to finish.
FORGET_TIMEOUT_S: Final = 300.0
ANY_ADDRESS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="write everything the hub stores about you two (JSON or CSV)")
    export.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    export.add_argument(
        "--out", type=Path, required=True, help="a new file (json) or a new/empty folder (csv)"
    )
    export.add_argument("--format", choices=("json", "csv"), default="json", dest="fmt")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(handler=_export)
    forget = commands.add_parser(
        "forget", help="delete everything made before a date (through the running hub)"
    )
    forget.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    forget.add_argument(
        "--before", required=True, metavar="YYYY-MM-DD", help="midnight starting that day, hub.timezone"
    )
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument("--hub", default=None, help="the hub's address (default: from [web] in the config)")
    forget.set_defaults(handler=_forget)


def _export(args: argparse.Namespace) -> int:
    return export_cli(args.config, args.out, args.fmt, json_output=args.json)


def _forget(args: argparse.Namespace) -> int:
    return forget_cli(args.config, args.before, yes=args.yes, hub=args.hub)


def export_cli(config_path: Path, out: Path, fmt: ExportFormat, *, json_output: bool) -> int:
    from hub.config import load_config  # noqa: PLC0415
    from hub.privacy.export import export_file  # noqa: PLC0415
    from hub.store.database import DATABASE_FILE  # noqa: PLC0415

    config = load_config(config_path)

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", file=sys.stderr)

    summary = export_file(config.hub.data_dir / DATABASE_FILE, out, fmt, progress=progress)
    if json_output:
        print(json.dumps(summary.as_dict(), indent=2))
        return 0
    print(f"Exported {summary.total} rows to {out} ({fmt}).")
    print("Button keys are left out on purpose: they never leave the hub.")
    return 0


def forget_cli(
    config_path: Path,
    before: str,
    *,
    yes: bool,
    hub: str | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from hub.config import load_config  # noqa: PLC0415
    from hub.privacy.forget import local_midnight  # noqa: PLC0415

    config = load_config(config_path)
    local_midnight(before, ZoneInfo(config.hub.timezone))  # a bad date fails here, before asking
    url = hub or hub_url(config.web.listen, config.web.port)
    if not yes:
        answer = ask(
            f"Forget everything this hub stored from before {before} ({config.hub.timezone})? "
            "This cannot be undone. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was forgotten.")
            return 1
    result = call_hub(url, "POST", "/api/privacy/forget", {"before": before}, timeout_s=FORGET_TIMEOUT_S)
    print(
        f"Forgot {result['signals']} signals, {result['presence_sessions']} presence sessions and "
        f"{result['inbox_ids']} relay ids from before {before}."
    )
    print(result["note"])
    return 0


def hub_url(listen: str, port: int) -> str:
    host = "127.0.0.1" if listen in ANY_ADDRESS else listen
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
