"""The format of ``web.password_hash``: ``$scrypt$ln=15,r=8,p=3$SALT$KEY`` (unpadded base64).

The config's rules need to know a well-formed hash when they see one; hub.web.auth makes and
checks them. Only the format lives here: no password is ever hashed in this module.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

HASH_SCHEME: Final = "scrypt"
# A hash from the config file is trusted only within these bounds: a typo of ln=30 must not make
# every login allocate 128 GiB.
SCRYPT_MAX_LOG2_N: Final = 20
SCRYPT_MAX_R: Final = 32
SCRYPT_MAX_P: Final = 16
MIN_SALT_BYTES: Final = 8
MIN_KEY_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class PasswordHash:
    log2_n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def parse_password_hash(encoded: str) -> PasswordHash | None:
    """The parts of a hash from `heartline web hash-password`; None if it is not one."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != HASH_SCHEME:
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[2].split(","))
        parsed = PasswordHash(
            int(params["ln"]), int(params["r"]), int(params["p"]), unb64(parts[3]), unb64(parts[4])
        )
    except (ValueError, KeyError):
        return None
    if not (
        1 <= parsed.log2_n <= SCRYPT_MAX_LOG2_N
        and 1 <= parsed.r <= SCRYPT_MAX_R
        and 1 <= parsed.p <= SCRYPT_MAX_P
    ):
        return None
    if len(parsed.salt) < MIN_SALT_BYTES or len(parsed.key) < MIN_KEY_BYTES:
        return None
    return parsed
