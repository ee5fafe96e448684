"""A kind's body schema: the fields a body may carry, each with its type and bounds.

Each kind's domain declares its schema beside its handler and registers both with the relay
(``Relay.register(..., body=SCHEMA)``); the relay checks every body before the handler sees it.
A body that breaks its schema is refused as ``bad_<kind>`` (acknowledged, counted, never
handled). Keys the schema does not name are dropped, not refused: a newer partner hub may add
one, and nothing here reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from hub.events import Channel, Fate
from hub.relay.envelope import MAX_TEXT_LENGTH, message_id_or_none, sane_time

FieldType = Literal["text", "id", "ids", "bool", "choice", "time", "count"]
# A count (an advert counter) is a whole number from 0; BTHome's counter is 32 bits.
MAX_COUNT: Final = 2**32 - 1


@dataclass(frozen=True, slots=True)
class BodyField:
    type: FieldType
    required: bool = True
    nullable: bool = False  # JSON null allowed (and kept as None)
    max_length: int = MAX_TEXT_LENGTH  # for text; for ids, the most ids in the list
    choices: Collection[str] = ()  # for choice
    # For text a person or the partner's hub wrote freely (a name, a delivery's reason): longer
    # is cut to max_length rather than refused, and empty is allowed.
    lenient: bool = False

    def valid(self, value: object) -> bool:
        if value is None:
            return self.nullable
        if self.type in ("bool", "count", "ids"):
            return _ORDINARY[self.type](value, self.max_length)
        if not isinstance(value, str):
            return False
        if self.type == "id":
            return message_id_or_none(value) is not None
        if self.type == "choice":
            return value in self.choices
        return sane_time(value) is not None if self.type == "time" else self._text(value)

    def _text(self, value: str) -> bool:
        if not _encodable(value):
            return False
        return self.lenient or 0 < len(value) <= self.max_length

    def cleaned(self, value: Any) -> Any:
        """A valid value as the handler gets it (lenient text cut to max_length)."""
        return value[: self.max_length] if self.lenient and isinstance(value, str) else value


BodySchema = Mapping[str, BodyField]


def checked_body(schema: BodySchema, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body's fields the schema names, each valid; None if any is missing or wrong."""
    clean: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in body:
            if spec.required:
                return None
            continue
        value = body[name]
        if not spec.valid(value):
            return None
        clean[name] = spec.cleaned(value)
    return clean


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _ids(value: object, most: int) -> bool:
    """A list of at most ``most`` message ids."""
    return (
        isinstance(value, list)
        and len(value) <= most
        and all(message_id_or_none(item) is not None for item in value)
    )


# Types that are not text: each checks a value with the field's max_length at hand.
_ORDINARY: Final[dict[str, Callable[[object, int], bool]]] = {
    "bool": lambda value, _: isinstance(value, bool),
    "count": lambda value, _: _count(value),
    "ids": _ids,
}


def _encodable(text: str) -> bool:
    """False for a lone surrogate ("\\ud800" is valid JSON, but no UTF-8 can store it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The most message ids one receipt may answer besides its ``ref`` (a receiver sends at most
# hub.relay.relay.RECEIPT_BATCH; this leaves room for a future one that sends more).
MAX_RECEIPT_ALSO: Final = 100

# The relay's own kind: a receipt tells what became of a message we sent; ``also`` lists more
# messages with the very same fate, channel and reason (the fates a receiver stored in one
# transaction). A hub that does not know ``also`` reads ``ref`` alone; the others are resent, and
# a duplicate is always answered by a receipt of its own.
RECEIPT_BODY: Final[BodySchema] = {
    "ref": BodyField("id"),
    "also": BodyField("ids", required=False, max_length=MAX_RECEIPT_ALSO),
    "fate": BodyField("choice", choices=frozenset(fate.value for fate in Fate)),
    "channel": BodyField(
        "choice", required=False, nullable=True, choices=frozenset(c.value for c in Channel)
    ),
    "reason": BodyField("text", required=False, nullable=True, lenient=True),
}


# A signal's ``made_at``: when the sender's button made a touch it kept while no hub heard it
# (device/keep.py), on the sender hub's clock. Optional; ``made_away`` says it was made away.
MADE_AT_BODY: Final[BodySchema] = {
    "made_at": BodyField("time", required=False, nullable=True),
    "made_away": BodyField("bool", required=False),
}
# The oldest touch a button keeps that a hub accepts, and how far after the envelope's own time
# a made-at may be (the same clock made both: only rounding, never minutes).
MADE_AT_MAX_AGE: Final = timedelta(days=7)
MADE_AT_MAX_AHEAD: Final = timedelta(seconds=1)


def made_at_problem(made_at: datetime, sent_at: datetime) -> str | None:
    """Why ``made_at`` cannot be when a touch sent at ``sent_at`` was made, or None."""
    if made_at > sent_at + MADE_AT_MAX_AHEAD:
        return "made_at_future"
    if made_at < sent_at - MADE_AT_MAX_AGE:
        return "made_at_too_old"
    return None
