"""The delivery loop: every received signal ends delivered, held (reason, release time) or failed.

Received signals arrive from the relay (already committed to the inbox). For each one the
service decides *whether* and *when* (quiet hours, rate limit) and then asks a ``Reach`` (the
router: button, else phone) *how*. Held signals are stored with their release time and, when
it comes, delivered together as one gentle summary. A signal for someone away with no phone
configured is held until presence sees them home (``is_home``), then delivered as itself (or, in
quiet hours, folded into the morning summary); its held fate and reason are stored, so a restart
keeps it held. Each fate goes back to the sender in a receipt through the relay's outbox.

The button plays a signal's own kind: its meaning was settled when it was made or arrived
(hub.delivery.moments), and nothing here reinterprets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from hub.bus import SignalUpdate, UpdateBus
from hub.clock import Clock
from hub.delivery.moments import Moments
from hub.delivery.quiet_hours import QuietHours
from hub.delivery.rate_limit import WINDOW_S, RateLimiter
from hub.delivery.router import AWAY_NO_PHONE, Outcome, Reach
from hub.events import Channel, Direction, Fate, SignalRecord
from hub.store.database import Database
from hub.store.holds import Hold, HoldReason, HoldStore
from hub.store.relay_queue import bookkeeping
from hub.store.signals import SignalLog

_LOGGER = logging.getLogger(__name__)

# Held signals are checked at least this often (real seconds), so an injected clock that jumps
# ahead releases them promptly too.
HOLD_POLL_S: Final = 1.0
# A rate-limited flood is summarised this long after its last signal.
RATE_QUIET_S: Final = WINDOW_S
# Bookkeeping that failed (disk full) is retried this often; the person is never reached twice.
STORE_RETRY_S: Final = 2.0
SUMMARY_WHY: Final[dict[HoldReason, str]] = {
    "quiet_hours": "While you were resting",
    "rate_limit": "In a burst of touches",
}

# Fates decided in one burst without reaching anyone (holds) are stored together, in one
# durable transaction of at most this many signals (each with its receipt).
MAX_GROUP: Final = 500

# Delivered fates whose receipts wait for the burst's durable commit, at most this many: a
# receipt leaves the hub only once its fate is on disk (synced), and a burst's receipts with the
# same answer leave together (hub.relay.relay.RECEIPT_BATCH).
MAX_UNRECEIPTED: Final = 50

# Queues a receipt to the sender inside the caller's transaction (Relay.queue_receipt), so a
# fate and its receipt are stored together.
Receipts = Callable[[str, Fate, Channel | None, str | None], None]


class DeliveryService:
    def __init__(
        self,
        *,
        db: Database,
        reach: Reach,
        receipts: Receipts,
        clock: Clock,
        bus: UpdateBus,
        moments: Moments,
        limiter: RateLimiter,
        quiet: QuietHours | None = None,
        is_home: Callable[[], bool] = lambda: True,
    ) -> None:
        self._is_home = is_home  # presence sees the person here (or cannot track them at all)
        self._until_home: dict[str, SignalRecord] = {}  # held: away with no phone
        self._db = db
        self._signals = SignalLog(db)
        self._holds = HoldStore(db)
        self._reach = reach
        self._receipts = receipts
        self._clock = clock
        self._bus = bus
        self.moments = moments
        self._limiter = limiter
        self._quiet = quiet
        self._queue: asyncio.Queue[SignalRecord] = asyncio.Queue()
        # Writes decided but not yet committed, each with what to do once it is (log, announce);
        # committed together by ``_flush`` before anyone is reached again and before the loop
        # waits. Never kept across an await: the relay's publisher shares this connection, so a
        # transaction left open would show it a receipt whose fate is not on disk yet.
        self._pending: list[tuple[Callable[[], None], Callable[[], None]]] = []
        # Reached, their fates committed without an fsync of their own (group commit): the
        # burst's durable commit writes their receipts and syncs the fates with them. Lost with
        # the process, the sender's resend is answered from the stored fate (a duplicate).
        self._unreceipted: list[tuple[str, Outcome]] = []
        self._postpone: dict[HoldReason, datetime] = {}  # a flood's latest release, per reason
        self._postponing: dict[HoldReason, datetime] = {}  # the one of the burst being stored
        # The earliest release time of any hold, kept in memory (never later than the true one:
        # a released or postponed hold only makes it early, and an early wake-up reads the store
        # once and sets it exactly), so a loop turn reads no holds while thousands are held.
        self._next_release: datetime | None = None

    def set_quiet(self, quiet: QuietHours | None) -> None:
        """New quiet hours (or none), for signals from now on; held ones keep their release time."""
        self._quiet = quiet

    def submit(self, record: SignalRecord) -> None:
        """Hand over a signal the relay has committed (called on the event loop)."""
        self._queue.put_nowait(record)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self._store_receipts_now()

    def _store_receipts_now(self) -> None:
        """On the way out (the hub stops): the receipts still waiting for their burst's end are
        stored now, so the sender hears at the next start, not at its resend."""
        unreceipted, self._unreceipted = self._unreceipted, []
        if not unreceipted:
            return
        try:
            with self._db.transaction():
                for signal_id, outcome in unreceipted:
                    self._receipts(signal_id, outcome.fate, outcome.channel, outcome.reason)
        except sqlite3.Error as ex:
            _LOGGER.warning("%d receipts not stored (%s); the resend is answered", len(unreceipted), ex)

    async def _run(self) -> None:
        self._next_release = self._earliest(self._holds.all())
        for interrupted in self._interrupted_waits():
            if interrupted.reason == AWAY_NO_PHONE:
                self._until_home[interrupted.id] = interrupted  # still held until they are home
            else:
                self._queue.put_nowait(interrupted)
        while True:
            record: SignalRecord | None = None
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races a completed get(), and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._wait_s()):
                    record = await self._queue.get()
            if record is not None:
                await self._handle(record)
                # The rest of the burst already waiting, decided in one go and stored together.
                while not self._queue.empty() and len(self._pending) < MAX_GROUP:
                    await self._handle(self._queue.get_nowait())
            await self._flush()
            await self._release_due()
            self._release_home()
            await self._flush()  # a released summary's receipts, before the loop waits

    def _interrupted_waits(self) -> list[SignalRecord]:
        """Received signals left held without a release time when the hub stopped: for a sleepy
        button's window, or until the person is home."""
        held = {h.signal_id for h in self._holds.all()}
        return [
            r
            for r in reversed(self._signals.recent(limit=1000))
            if r.direction is Direction.RECEIVED and r.fate is Fate.HELD and r.id not in held
        ]

    def _wait_s(self) -> float | None:
        if self._until_home:
            return HOLD_POLL_S
        if self._next_release is None:
            return None
        until = (self._next_release - self._clock.now()).total_seconds()
        return max(0.0, min(until, HOLD_POLL_S))

    @staticmethod
    def _earliest(holds: list[Hold]) -> datetime | None:
        return min((h.release_at for h in holds), default=None)

    def _expect(self, release: datetime) -> None:
        """A hold will release at ``release``: wake up by then."""
        if self._next_release is None or release < self._next_release:
            self._next_release = release

    def _later(self, store: Callable[[], None], after: Callable[[], None]) -> None:
        """Decided: ``store`` joins the burst's transaction, ``after`` runs once it is committed."""
        self._pending.append((store, after))

    async def _flush(self, *, receipts: bool = True) -> None:
        """Commit the burst's pending fates (each with its receipt) in one durable transaction:
        a fate is on disk before its receipt can be published, as when each had its own. With
        ``receipts`` (not before each delivery: they wait for the end of the burst), the receipts
        of the burst's deliveries join it, and its fsync makes their fates durable too."""
        unreceipted = self._unreceipted if receipts else []
        if not self._pending and not unreceipted:
            return
        pending, self._pending = self._pending, []
        postpone, self._postpone = self._postpone, {}
        if receipts:
            self._unreceipted = []

        def store() -> None:
            self._postponing = postpone
            with self._db.transaction():
                for write, _ in pending:
                    write()
                for signal_id, outcome in unreceipted:
                    self._receipts(signal_id, outcome.fate, outcome.channel, outcome.reason)
                # One postpone for the burst, after its holds are in: every hold of the reason
                # ends at the latest release, as a postpone before each hold would leave them.
                for why, release in postpone.items():
                    self._holds.postpone(why, release)

        await self._durably(store)
        for _, after in pending:
            after()

    async def _handle(self, record: SignalRecord) -> None:
        now = self._clock.now()
        release = self._quiet.release_at(now, record.kind) if self._quiet else None
        if release is not None:
            assert self._quiet is not None
            await self._hold(record, "quiet_hours", release, f"quiet hours {self._quiet.describe()}")
            return
        if not self._limiter.admit():
            release = now + timedelta(seconds=RATE_QUIET_S)
            limit = f"rate limit {self._limiter.per_minute}/min"
            await self._hold(record, "rate_limit", release, limit, postpone=True)
            return

        async def waiting(text: str) -> None:
            await self._mark_waiting(record, text)

        # Everything decided before is on disk before the person is reached again: a delivered
        # fate is never left uncommitted while another delivery runs.
        await self._flush(receipts=False)
        outcome = await self._reach.deliver(record, record.kind, waiting)
        if outcome.fate is Fate.HELD:
            await self._hold_until_home([record], outcome.reason or AWAY_NO_PHONE)
            return
        if outcome.fate is Fate.DELIVERED:
            self.moments.delivered(record)
        await self._finish([record], outcome)

    async def _hold_until_home(self, records: list[SignalRecord], reason: str) -> None:
        """Nothing can reach the person until they are back: held, stored as held with its
        reason (no release time), released by ``_release_home``."""

        shown: list[SignalRecord | None] = []

        def store() -> None:
            shown.clear()
            with self._db.transaction():
                for record in records:
                    self._holds.release(record.id)  # a quiet-hours hold ends here, if it was one
                    shown.append(
                        self._signals.set_fate(record.id, Fate.HELD, self._clock.now(), reason=reason)
                    )
                    self._receipts(record.id, Fate.HELD, None, reason)

        await self._durably(store)
        for record in records:
            self._until_home[record.id] = record
            _LOGGER.info("signal %s held: %s", record.id, reason)
        self._announce(shown)

    def _release_home(self) -> None:
        """Presence sees the person home: their held signals go through delivery again (quiet
        hours may still fold them into the morning summary)."""
        if not self._until_home or not self._is_home():
            return
        _LOGGER.info("home again: releasing %d held signals", len(self._until_home))
        for record in self._until_home.values():
            self._queue.put_nowait(record)
        self._until_home.clear()

    async def _hold(
        self, record: SignalRecord, why: HoldReason, release: datetime, text: str, *, postpone: bool = False
    ) -> None:
        now = self._clock.now()
        if postpone:  # a flood still going on: the whole burst waits for its end (at the flush)
            self._postpone[why] = release
        said: list[str] = []
        shown: list[SignalRecord | None] = []

        def store() -> None:
            # A postponed hold says the release the whole burst got (so the burst's receipts
            # say the same, and leave together: hub.relay.relay.RECEIPT_BATCH).
            final = self._postponing.get(why, release) if postpone else release
            reason = f"held: {text}; release {final.isoformat()}"
            said[:] = [reason]
            self._holds.put(record.id, why, release)
            shown[:] = [self._signals.set_fate(record.id, Fate.HELD, now, reason=reason)]
            self._receipts(record.id, Fate.HELD, None, reason)

        def after() -> None:
            _LOGGER.info("signal %s %s", record.id, said[0])
            self._announce(shown)

        self._expect(release)
        self._later(store, after)

    async def _mark_waiting(self, record: SignalRecord, text: str) -> None:
        """Held while a sleepy button's listen window is awaited (no hold row: the delivery
        itself is waiting, and a restart delivers it again from the inbox)."""
        reason = f"held: {text}"

        shown: list[SignalRecord | None] = []

        def store() -> None:
            with self._db.transaction():
                shown[:] = [self._signals.set_fate(record.id, Fate.HELD, self._clock.now(), reason=reason)]
                self._receipts(record.id, Fate.HELD, None, reason)

        await self._durably(store)
        _LOGGER.info("signal %s %s", record.id, reason)
        self._announce(shown)

    async def _release_due(self) -> None:
        now = self._clock.now()
        if self._next_release is None or self._next_release > now:
            return  # nothing due: no hold is read
        holds = self._holds.all()
        due = [h for h in holds if h.release_at <= now]
        self._next_release = self._earliest([h for h in holds if h.release_at > now])
        for why in ("quiet_hours", "rate_limit"):
            group = [h for h in due if h.reason == why]
            if group:
                await self._summarise(why, group)

    async def _summarise(self, why: HoldReason, holds: list[Hold]) -> None:
        records = [r for r in (self._signals.get(h.signal_id) for h in holds) if r is not None]
        outcome = await self._reach.deliver_summary(records, SUMMARY_WHY[why])
        if outcome.fate is Fate.HELD:
            await self._hold_until_home(records, outcome.reason or AWAY_NO_PHONE)
            return
        detail = f"in a summary of {len(records)} after {why.replace('_', ' ')}"
        reason = f"{detail}; {outcome.reason}" if outcome.reason else detail
        _LOGGER.info("released %d held signals (%s): %s", len(records), why, outcome.fate.value)
        await self._finish(records, Outcome(outcome.fate, outcome.channel, reason))

    async def _finish(self, records: list[SignalRecord], outcome: Outcome) -> None:
        """Commit the fates of records the person was reached with (or not), at once, so no
        other delivery runs while one is uncommitted; their receipts follow with the burst's
        durable commit (``_flush``), which also syncs these fates to the disk. Until then a
        crash of the process loses nothing (the commit is in the WAL); a power cut within the
        burst could lose the fate, and that signal would be delivered again."""
        shown: list[SignalRecord | None] = []

        def store() -> None:
            shown.clear()
            with bookkeeping(self._db):
                for record in records:
                    self._holds.release(record.id)
                    updated = self._signals.set_fate(
                        record.id,
                        outcome.fate,
                        self._clock.now(),
                        channel=outcome.channel,
                        reason=outcome.reason,
                    )
                    shown.append(updated)

        await self._durably(store)
        self._unreceipted.extend((record.id, outcome) for record in records)
        self._announce(shown)
        if len(self._unreceipted) >= MAX_UNRECEIPTED:
            await self._flush()

    async def _durably(self, store: Callable[[], None]) -> None:
        """Run a write until it succeeds: the person was reached, only the record is late."""
        while True:
            try:
                store()
            except sqlite3.Error as ex:
                _LOGGER.error("cannot record a delivery (%s); retrying in %.0f s", ex, STORE_RETRY_S)
                await asyncio.sleep(STORE_RETRY_S)
            else:
                return

    def _announce(self, records: list[SignalRecord | None]) -> None:
        """Show each committed fate on the live feed (the records the writes returned)."""
        for record in records:
            if record is not None:
                self._bus.publish(SignalUpdate(record))
