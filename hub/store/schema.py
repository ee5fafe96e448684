"""Schema migrations. Index i moves a database from user_version i to i + 1.

Never edit a shipped migration: append a new one. Tests open databases made by every
earlier version and check they migrate.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE buttons (
        id               INTEGER PRIMARY KEY,
        address          TEXT NOT NULL UNIQUE,
        kind             TEXT NOT NULL CHECK (kind IN ('heartline', 'bthome')),
        key_hex          TEXT NOT NULL,
        owner            TEXT NOT NULL,
        command_counter  INTEGER NOT NULL DEFAULT 0,
        advert_counter   INTEGER NOT NULL DEFAULT -1,
        battery          INTEGER,
        rssi             INTEGER,
        last_seen        TEXT
    ) STRICT;

    -- Every signal this home sent or received, with its fate.
    CREATE TABLE signals (
        id          TEXT PRIMARY KEY,           -- message id, unique across both homes
        direction   TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
        kind        TEXT NOT NULL,
        sender      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        fate        TEXT NOT NULL,
        channel     TEXT,
        reason      TEXT,
        updated_at  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX signals_by_time ON signals (created_at);

    -- Sealed envelopes, committed before they are published. A receipt leaves when the broker
    -- confirmed it; a signal stays (next_attempt_at set) until the partner's receipt arrives,
    -- because a broker can lose a confirmed message if it dies before its next save.
    CREATE TABLE outbox (
        id               TEXT PRIMARY KEY,
        topic            TEXT NOT NULL,
        payload          BLOB NOT NULL,
        created_at       TEXT NOT NULL,
        needs_receipt    INTEGER NOT NULL CHECK (needs_receipt IN (0, 1)),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  TEXT                      -- NULL: publish as soon as connected
    ) STRICT;
    CREATE INDEX outbox_due ON outbox (next_attempt_at);

    -- Ids of every relay message already handled, so a redelivery is recognised.
    CREATE TABLE inbox (
        id           TEXT PRIMARY KEY,
        received_at  TEXT NOT NULL
    ) STRICT;
    """,
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
