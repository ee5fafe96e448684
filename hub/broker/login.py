"""A relay login file: everything one hub needs to reach the relay, in one small TOML file.

``heartline broker setup`` writes one per hub (``couple-N/hub-a.login`` and ``hub-b.login``,
0600); ``heartline setup --relay-login`` reads it into that hub's config and the inviting hub's
``couple invite --partner-login`` reads the partner's for its password. Example::

    # Relay login for one Heartline hub ...
    broker = "mqtts://relay.example.org:8883"
    hub_id = "h1a2b3c4d5e"
    partner_hub_id = "h6f7a8b9c0d"
    couple_id = "c0123456789"
    password = "..."
    ca_certificate = "-----BEGIN CERTIFICATE-----\\nMIIB...\\n-----END CERTIFICATE-----\\n"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hub.config.toml_text import render_document
from hub.errors import HeartlineError

LOGIN_SUFFIX: Final = ".login"
_PEM_BEGIN: Final = "-----BEGIN CERTIFICATE-----"


class LoginFileError(HeartlineError, ValueError):
    """A relay login file cannot be read; the message says which file and what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass(frozen=True, slots=True)
class RelayLogin:
    broker: str  # mqtts://HOST:PORT
    hub_id: str
    partner_hub_id: str
    couple_id: str
    password: str = field(repr=False)
    ca_pem: str  # the relay CA certificate, PEM

    def render(self) -> str:
        return render_document(
            {},
            top={
                "broker": self.broker,
                "hub_id": self.hub_id,
                "partner_hub_id": self.partner_hub_id,
                "couple_id": self.couple_id,
                "password": self.password,
                "ca_certificate": self.ca_pem,
            },
            comment=(
                f"Relay login for Heartline hub {self.hub_id}, written by `heartline broker setup`.\n"
                "It holds this hub's relay password: copy it only to that hub, then run\n"
                "  heartline setup --relay-login THIS-FILE"
            ),
        )


def read_login(path: Path) -> RelayLogin:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoginFileError(path, "not found; copy this hub's .login file from the relay") from None
    except (OSError, UnicodeDecodeError) as ex:
        raise LoginFileError(path, f"cannot be read ({ex}); copy it from the relay again") from ex
    except tomllib.TOMLDecodeError as ex:
        raise LoginFileError(path, f"is not a relay login file ({ex}); copy it from the relay again") from ex
    values: dict[str, str] = {}
    for key in ("broker", "hub_id", "partner_hub_id", "couple_id", "password", "ca_certificate"):
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            raise LoginFileError(path, f"has no {key}; copy the .login file `heartline broker setup` wrote")
        values[key] = value
    if _PEM_BEGIN not in values["ca_certificate"]:
        raise LoginFileError(path, "ca_certificate is not a PEM certificate; copy the file again")
    return RelayLogin(
        broker=values["broker"],
        hub_id=values["hub_id"],
        partner_hub_id=values["partner_hub_id"],
        couple_id=values["couple_id"],
        password=values["password"],
        ca_pem=values["ca_certificate"],
    )
