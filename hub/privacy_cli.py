"""``heartline export`` and ``heartline forget``: the couple's own copy of their history, and erasing it.

Export reads the database directly and read-only (safe while the hub runs). Forget changes it, so
it asks the running hub, the database's one writer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from hub.config import load_config
from hub.hub_client import call_hub
from hub.privacy.export import ExportFormat, export, open_read_only
from hub.store.database import DATABASE_FILE
from hub.web.privacy_api import local_midnight

# VACUUM rewrites the whole file: give a big database on an SD card time to finish.
FORGET_TIMEOUT_S: Final = 300.0
ANY_ADDRESS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound


def export_cli(config_path: Path, out: Path, fmt: ExportFormat, *, json_output: bool) -> int:
    config = load_config(config_path)
    db = open_read_only(config.hub.data_dir / DATABASE_FILE)

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", file=sys.stderr)

    try:
        summary = export(db, out, fmt, progress=progress)
    finally:
        db.close()
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
