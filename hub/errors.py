"""The small exception tree. Each class also inherits the builtin a caller would expect."""

from __future__ import annotations


class HeartlineError(Exception):
    """Base of every error Heartline raises on purpose."""


class ConfigError(HeartlineError, ValueError):
    """A configuration value is missing or wrong. ``key`` names it as ``section.key``."""

    def __init__(self, key: str, problem: str, source: str = "config") -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.key = key
        self.problem = problem
        self.source = source


class StoreError(HeartlineError, OSError):
    """The database cannot be opened, migrated or written."""


class StartError(HeartlineError, RuntimeError):
    """The hub cannot start (its web port is taken, its database is unusable...).

    The message is one line naming what and how to fix it; ``heartline`` exits with status 1
    (a failure at run time, where a wrong command line or config exits with 2).
    """


class TransportError(HeartlineError, ConnectionError):
    """A BLE transport cannot be opened or used. ``spec`` is the transport spec string."""

    def __init__(self, spec: str, problem: str) -> None:
        super().__init__(f"BLE transport {spec!r}: {problem}")
        self.spec = spec


class FeedbackError(HeartlineError, ConnectionError):
    """A haptic/LED command did not reach a button. ``reason`` is short and stable."""

    def __init__(self, address: str, reason: str, detail: str = "") -> None:
        super().__init__(f"feedback to {address} failed: {reason}{': ' + detail if detail else ''}")
        self.address = address
        self.reason = reason


class UnknownOwnerError(HeartlineError, ValueError):
    """A button was registered for someone who is neither of the couple's two people."""

    def __init__(self, owner: str, people: tuple[str, str]) -> None:
        super().__init__(
            f"owner {owner!r} is neither {people[0]!r} nor {people[1]!r}; "
            "register the button for one of them (its touches go to the other)"
        )
        self.owner = owner
        self.people = people


class RelayError(HeartlineError, ConnectionError):
    """The partner relay (MQTT) cannot be reached or refused us."""


class EnvelopeError(HeartlineError, ValueError):
    """A relay payload is forged, tampered, replayed or malformed. ``reason`` is stable."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"rejected relay payload: {reason}")
        self.reason = reason
