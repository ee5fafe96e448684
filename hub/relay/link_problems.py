"""Why the MQTT link cannot work, in words a couple's installer can act on.

paho retries by itself and says little: a failed TLS handshake or a refused login is only a
debug line and another retry. Each function here turns one kind of failure (the exception a
connect attempt raised, a CONNACK or SUBACK reason code) into a :class:`RelayProblem`: what is
wrong, naming the broker, and the fix, naming the config key. The texts are the ones
docs/troubleshooting.md lists.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Final

from hub.health import RelayProblem, RelayProblemKind

# The ACL and the logins come from one place; every fix that touches them points there.
SETUP_COMMAND: Final = "`heartline broker setup`"

# MQTT 5 reason codes (spec table 3-1 CONNACK, 3-8 SUBACK). paho maps MQTT 3.1.1 CONNACK return
# codes onto these (4 -> 0x86, 5 -> 0x87, ...); a 3.1.1 SUBACK failure is 0x80.
UNSPECIFIED: Final = 0x80
UNSUPPORTED_PROTOCOL: Final = 0x84
CLIENT_ID_NOT_VALID: Final = 0x85
BAD_USERNAME_OR_PASSWORD: Final = 0x86
NOT_AUTHORIZED: Final = 0x87
SERVER_UNAVAILABLE: Final = 0x88
SERVER_BUSY: Final = 0x89
BANNED: Final = 0x8A
BAD_AUTH_METHOD: Final = 0x8C


def connect_failure(ex: BaseException, host: str, port: int, *, ca_file: Path | None) -> RelayProblem:
    """A connect attempt that raised before any MQTT was spoken (DNS, TCP, TLS)."""
    where = f"{host}:{port}"
    if isinstance(ex, ssl.SSLCertVerificationError):
        return _certificate(ex, where, ca_file)
    if isinstance(ex, ssl.SSLError):
        return RelayProblem(
            RelayProblemKind.TLS,
            f"TLS handshake with {where} failed ({getattr(ex, 'reason', None) or ex})",
            "check that relay.broker names the broker's TLS port (mqtts://HOST:8883)",
        )
    if isinstance(ex, socket.gaierror):
        return RelayProblem(
            RelayProblemKind.DNS,
            f"cannot resolve the broker's host name {host!r} ({ex.strerror or ex})",
            f"check the host name in relay.broker and this hub's DNS (`getent hosts {host}`)",
        )
    if isinstance(ex, ConnectionRefusedError):
        return RelayProblem(
            RelayProblemKind.UNREACHABLE,
            f"nothing accepts connections at {where} (connection refused)",
            "check the port in relay.broker and that the broker runs there",
        )
    if isinstance(ex, TimeoutError):
        return RelayProblem(
            RelayProblemKind.UNREACHABLE,
            f"no answer from {where} (timed out)",
            "check the network, the port in relay.broker and that the broker's firewall lets it in",
        )
    detail = ex.strerror if isinstance(ex, OSError) and ex.strerror else str(ex) or type(ex).__name__
    return RelayProblem(
        RelayProblemKind.UNREACHABLE,
        f"cannot reach {where} ({detail})",
        "check the network and the host and port in relay.broker",
    )


def _certificate(ex: ssl.SSLCertVerificationError, where: str, ca_file: Path | None) -> RelayProblem:
    message = ex.verify_message or str(ex)
    reason = f"TLS verification failed for {where} ({message})"
    lowered = message.lower()
    if "mismatch" in lowered:
        fix = (
            f"use in relay.broker the exact --host given to {SETUP_COMMAND}: the broker's "
            "certificate names that host"
        )
    elif "expired" in lowered or "not yet valid" in lowered:
        fix = "check this hub's clock (`timedatectl`), then the certificate's dates on the relay"
    elif ca_file is None:
        fix = f"set relay.ca_file to the relay's ca.crt from {SETUP_COMMAND} (the system CAs do not know it)"
    else:
        fix = (
            f"relay.ca_file ({ca_file}) is not the CA that signed the broker's certificate; "
            f"copy the relay's current ca.crt from {SETUP_COMMAND}"
        )
    return RelayProblem(RelayProblemKind.TLS, reason, fix)


def connack_refusal(code: int, text: str, username: str, where: str) -> RelayProblem:
    """The broker answered CONNECT with a failure reason code."""
    refused = f"the broker at {where} refused the login for {username!r} ({text})"
    if code == BAD_USERNAME_OR_PASSWORD:
        return RelayProblem(
            RelayProblemKind.LOGIN,
            refused,
            f"copy relay.password exactly as {SETUP_COMMAND} printed it for this hub",
        )
    if code in (NOT_AUTHORIZED, BAD_AUTH_METHOD):
        return RelayProblem(
            RelayProblemKind.LOGIN,
            refused,
            f"check relay.password and that relay.hub_id (or relay.username) is this hub's broker "
            f"login, as {SETUP_COMMAND} printed them",
        )
    if code == CLIENT_ID_NOT_VALID:
        fix = "relay.hub_id is the client id: use 1-23 letters, digits, '-' or '_'"
    elif code == UNSUPPORTED_PROTOCOL:
        fix = 'the broker does not speak this MQTT version: set relay.protocol = "mqtt311"'
    elif code == BANNED:
        fix = "the broker bans this login: ask whoever runs the relay"
    elif code in (SERVER_UNAVAILABLE, SERVER_BUSY):
        fix = "the broker is not taking connections now; the hub keeps retrying (check the broker's log)"
    else:
        fix = "check the broker's log for why"
    return RelayProblem(
        RelayProblemKind.REFUSED, f"the broker at {where} refused the connection ({text})", fix
    )


def inbox_silent(topic: str, username: str, waited_s: float) -> RelayProblem:
    """The broker granted the inbox subscription but delivered nothing sent to it."""
    return RelayProblem(
        RelayProblemKind.INBOX_SILENT,
        f"the broker granted the subscription to {topic} for {username!r} but did not deliver a "
        f"probe sent there within {waited_s:.0f} s (its ACL filters what this hub may read)",
        f"the broker's ACL must let this hub read its inbox: regenerate it with {SETUP_COMMAND} "
        "and check relay.couple_id, relay.hub_id and relay.username",
    )


def subscribe_refusal(topic: str, code: int, text: str, username: str) -> RelayProblem:
    """The broker answered SUBSCRIBE with a failure (0x80; MQTT 5 also 0x87 and others)."""
    return RelayProblem(
        RelayProblemKind.SUBSCRIBE_DENIED,
        f"the broker refused the subscription to {topic} for {username!r} ({text}, 0x{code:02X})",
        f"the broker's ACL must let this hub read its topics: regenerate it with {SETUP_COMMAND} "
        "and check relay.couple_id and relay.hub_id",
    )
