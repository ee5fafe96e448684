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

    -- Received signals held on purpose (quiet hours, rate limit) until release_at; a row
    -- leaves when the held signal was delivered (or failed) in a summary.
    CREATE TABLE holds (
        signal_id   TEXT PRIMARY KEY REFERENCES signals (id),
        reason      TEXT NOT NULL CHECK (reason IN ('quiet_hours', 'rate_limit')),
        release_at  TEXT NOT NULL
    ) STRICT;

    -- How signals answer each other: a felt_it reply names the signal it answers
    -- ('felt'), a touch made within seconds of the partner's names it ('moment').
    CREATE TABLE signal_links (
        signal_id   TEXT NOT NULL,
        relation    TEXT NOT NULL CHECK (relation IN ('felt', 'moment')),
        ref         TEXT NOT NULL,
        PRIMARY KEY (signal_id, relation)
    ) STRICT;
    CREATE INDEX signal_links_by_ref ON signal_links (ref, relation);
    """,
    # 1 -> 2: presence sessions (hub/store/presence.py, issue 6). Kept in its own string so a
    # migration appended by another change stays a separate, clearly ordered step.
    """
    -- One row per stay of a person near this hub. Wall times are ISO-8601 UTC; *_mono are the
    -- same instants on the monotonic clock of the hub run ``run_id``, so an NTP step during that
    -- run re-dates them correctly.
    CREATE TABLE presence_sessions (
        id              INTEGER PRIMARY KEY,
        person          TEXT NOT NULL,
        hub             TEXT NOT NULL,
        arrived_at      TEXT NOT NULL,
        left_at         TEXT,                   -- NULL while the session is open
        last_seen_at    TEXT NOT NULL,          -- an open session is closed here after a restart
        confidence      REAL NOT NULL DEFAULT 1.0 CHECK (confidence >= 0.0 AND confidence <= 1.0),
        close_reason    TEXT CHECK (close_reason IN ('left', 'restart')),
        run_id          TEXT NOT NULL,
        arrived_mono    REAL,
        left_mono       REAL,
        last_seen_mono  REAL
    ) STRICT;
    CREATE INDEX presence_by_time ON presence_sessions (hub, arrived_at);
    CREATE UNIQUE INDEX presence_one_open ON presence_sessions (person, hub) WHERE left_at IS NULL;
    """,
    # 2 -> 3: a touch the sender's button kept while no hub heard it (device/keep.py) says when
    # it was made; NULL: made when it was sent.
    """
    ALTER TABLE signals ADD COLUMN made_at TEXT;
    ALTER TABLE signals ADD COLUMN made_away INTEGER NOT NULL DEFAULT 0 CHECK (made_away IN (0, 1));
    """,
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
