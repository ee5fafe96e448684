"""``relay.toml``: what a relay directory knows about itself, so ``broker add-couple`` can extend it.

It holds the listener settings and every couple's number and ids, never a password (those are
in the hubs' login files and, hashed, in ``passwd``). Mode 0600, owned by whoever ran setup.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.broker.config import Couple, RelayConfigError, RelayProfile
from hub.config.toml_text import Table, render_document

STATE_NAME: Final = "relay.toml"


@dataclass(frozen=True, slots=True)
class RelayCoupleEntry:
    number: int  # couple-N/ holds its hubs' login files
    couple: Couple


@dataclass(frozen=True, slots=True)
class RelayState:
    host: str
    tls_port: int
    bind: str
    local_port: int | None
    user: str | None  # mosquitto.conf's ``user`` line, None when it has none
    couples: tuple[RelayCoupleEntry, ...]
    profile: RelayProfile = RelayProfile.DURABLE

    def render(self) -> str:
        couples: list[Table] = [
            {"number": entry.number, "couple_id": entry.couple.couple_id, "hubs": list(entry.couple.hubs)}
            for entry in self.couples
        ]
        return render_document(
            {},
            top={
                "host": self.host,
                "tls_port": self.tls_port,
                "bind": self.bind,
                "local_port": self.local_port or 0,
                "user": self.user or "",
                "profile": self.profile.value,
            },
            arrays={"couples": couples},
            comment=(
                "This relay's own record, written by `heartline broker setup` and read by\n"
                "`heartline broker add-couple`. No passwords here. Do not edit it."
            ),
        )

    @property
    def next_number(self) -> int:
        return max((entry.number for entry in self.couples), default=0) + 1


def read_state(out_dir: Path) -> RelayState:
    path = out_dir / STATE_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        couples = tuple(
            RelayCoupleEntry(
                int(item["number"]),
                Couple(str(item["couple_id"]), (str(item["hubs"][0]), str(item["hubs"][1]))),
            )
            for item in raw["couples"]
        )
        return RelayState(
            host=str(raw["host"]),
            tls_port=int(raw["tls_port"]),
            bind=str(raw["bind"]),
            local_port=int(raw["local_port"]) or None,
            user=str(raw["user"]) or None,
            couples=couples,
            # A relay written before profiles existed saves after every change.
            profile=RelayProfile.parse(str(raw.get("profile", RelayProfile.DURABLE.value))),
        )
    except FileNotFoundError:
        raise RelayConfigError(
            "--out",
            str(out_dir),
            f"holds no relay ({STATE_NAME} is missing); run `heartline broker setup` first",
        ) from None
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as ex:
        raise RelayConfigError(
            "--out", str(out_dir), f"{STATE_NAME} cannot be read ({ex}); it was edited or damaged"
        ) from ex
