"""docs/troubleshooting.md lists the fixes the relay link prints, word for word."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from hub.relay.link_problems import (
    BAD_USERNAME_OR_PASSWORD,
    NOT_AUTHORIZED,
    connack_refusal,
    connect_failure,
    subscribe_refusal,
)

TROUBLESHOOTING = Path(__file__).parents[2] / "docs" / "troubleshooting.md"


def _verify_error(message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    error.verify_message = message
    return error


def test_every_fix_the_link_prints_is_in_the_troubleshooting_page() -> None:
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    problems = [
        connect_failure(
            _verify_error("self-signed certificate in certificate chain"), "HOST", 1, ca_file=None
        ),
        connect_failure(
            _verify_error("Hostname mismatch, certificate is not valid for 'HOST'."), "HOST", 1, ca_file=None
        ),
        connect_failure(ssl.SSLError(1, "WRONG_VERSION_NUMBER"), "HOST", 1, ca_file=None),
        connect_failure(socket.gaierror(-2, "Name or service not known"), "HOST", 1, ca_file=None),
        connect_failure(ConnectionRefusedError(111, "Connection refused"), "HOST", 1, ca_file=None),
        connect_failure(TimeoutError("timed out"), "HOST", 1, ca_file=None),
        connack_refusal(NOT_AUTHORIZED, "Not authorized", "HUB", "HOST:1"),
        connack_refusal(BAD_USERNAME_OR_PASSWORD, "Bad user name or password", "HUB", "HOST:1"),
        subscribe_refusal("hl/v1/COUPLE/HUB/in", NOT_AUTHORIZED, "Not authorized", "HUB"),
    ]
    for problem in problems:
        assert problem.fix in text, problem.fix


def test_a_wrong_ca_file_is_named_in_its_fix() -> None:
    problem = connect_failure(
        _verify_error("unable to get local issuer certificate"),
        "relay.example.org",
        8883,
        ca_file=Path("/etc/x.crt"),
    )
    assert (
        problem.reason
        == "TLS verification failed for relay.example.org:8883 (unable to get local issuer certificate)"
    )
    assert problem.fix.startswith(
        "relay.ca_file (/etc/x.crt) is not the CA that signed the broker's certificate"
    )
