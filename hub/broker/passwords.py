"""Mosquitto 2.x password-file lines, hashed in Python.

Mosquitto 2.x stores each user as ``username:$7$<iterations>$<b64 salt>$<b64 hash>``, where
``$7$`` means PBKDF2-HMAC-SHA512 over the UTF-8 password and the raw salt bytes, and both
base64 fields are standard base64 with padding. ``mosquitto_passwd`` writes exactly this
format; generating it here means setting up a relay needs no mosquitto tools on the machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

# Mosquitto's tag for PBKDF2-HMAC-SHA512 (its "sha512-pbkdf2" hash type).
PBKDF2_SHA512_TAG: Final = 7
# mosquitto_passwd's own salt length; mosquitto reads any length, we match the tool.
SALT_BYTES: Final = 12
# SHA-512 output; mosquitto compares the full digest.
HASH_BYTES: Final = 64
# The hub passwords we generate are 192 random bits, so key stretching is not what protects
# them; a moderate count keeps a reconnect storm (every hub after a relay restart) cheap on a
# Raspberry Pi while still being ten times mosquitto_passwd's default of 101.
DEFAULT_ITERATIONS: Final = 1000
# 24 random bytes -> 32 URL-safe characters: 192 bits, far past any online or offline guessing.
GENERATED_PASSWORD_BYTES: Final = 24

_ENCODED_RE: Final = re.compile(
    r"^\$7\$(?P<iterations>[0-9]+)\$(?P<salt>[A-Za-z0-9+/=]+)\$(?P<hash>[A-Za-z0-9+/=]+)$"
)


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """One parsed ``$7$`` hash as mosquitto stores it."""

    iterations: int
    salt: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {self.iterations}")
        if not self.salt:
            raise ValueError("salt must not be empty")
        if len(self.digest) != HASH_BYTES:
            raise ValueError(f"digest must be {HASH_BYTES} bytes, got {len(self.digest)}")

    def __str__(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"${PBKDF2_SHA512_TAG}${self.iterations}${salt}${digest}"

    @classmethod
    def parse(cls, encoded: str) -> PasswordHash:
        """Parse the part of a password-file line after ``username:``."""
        match = _ENCODED_RE.match(encoded.strip())
        if match is None:
            raise ValueError(
                "not a mosquitto 2.x PBKDF2-SHA512 hash ($7$<iterations>$<salt>$<hash>); "
                "regenerate the password file with hub.broker.passwords"
            )
        try:
            salt = base64.b64decode(match["salt"], validate=True)
            digest = base64.b64decode(match["hash"], validate=True)
        except binascii.Error as ex:
            raise ValueError(f"bad base64 in password hash: {ex}") from ex
        return cls(iterations=int(match["iterations"]), salt=salt, digest=digest)


def generate_password() -> str:
    """A fresh random broker password for one hub (URL-safe, no characters a shell mangles)."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)


def hash_password(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> PasswordHash:
    """Hash ``password`` the way mosquitto 2.x verifies it (a random salt unless given)."""
    if not password:
        raise ValueError("password must not be empty: mosquitto treats it as no password")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _derive(password, salt, iterations)
    return PasswordHash(iterations=iterations, salt=salt, digest=digest)


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (constant-time compare)."""
    stored = PasswordHash.parse(encoded)
    return hmac.compare_digest(_derive(password, stored.salt, stored.iterations), stored.digest)


def check_username(username: str) -> None:
    """Reject usernames that would corrupt a password-file line."""
    if not username or ":" in username or any(ch.isspace() for ch in username):
        raise ValueError(
            f"username {username!r} cannot go in a mosquitto password file: "
            "use a non-empty name without ':' or whitespace"
        )


def password_file_line(username: str, password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """One line of a mosquitto password file, without the trailing newline."""
    check_username(username)
    return f"{username}:{hash_password(password, iterations=iterations)}"


def render_password_file(credentials: Mapping[str, str], *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """A whole password file for ``{username: password}``, sorted for stable diffs."""
    return "".join(
        password_file_line(user, credentials[user], iterations=iterations) + "\n"
        for user in sorted(credentials)
    )
