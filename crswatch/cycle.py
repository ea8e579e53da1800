"""One check: retry due deliveries, fetch the feed, store what changed, queue and send alerts.

Feed → `scraper` (spider, parsing) → draws table → `notifier` (match, outbox, apprise) → inboxes.
The same coroutine serves `crswatch check` (cron) and every tick of `crswatch run`.  Each
database step is a short transaction; the cycle lock (held by the caller) keeps cycles apart.
Its steps live beside it: `storing` (merge, announce, plan), `sending` (dispatch, the operator's
notices, tidying), `periodic` (pool alerts, digests); `report` says what the check did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, NoReturn

from filelock import FileLock, Timeout

from crswatch.notifier.outbox import Delivery, DispatchReport
from crswatch.notifier.services import Services
from crswatch.scraper.items import FeedOutcome
from crswatch.store import kv
from crswatch.store.draws import Database
from crswatch.store.errors import DatabaseError
from crswatch.store.sql import Store

from .config import Config, crs_rules
from .errors import Busy, FeedRejected, FetchFailed
from .periodic import plan_digests
from .report import CycleReport
from .sending import deliver, notify_operator, tidy
from .status import get_meta
from .storing import recognise_late, store_harvest, update_status

log = logging.getLogger("crswatch")


@contextmanager
def cycle_lock(database: Database, timeout: float = 10.0) -> Iterator[None]:
    """One check cycle at a time on a draws file (cron `check` and `run` alike).  Not the file's
    own lock: a cycle holds this one for minutes while its transactions stay short."""
    database.ensure_folder()
    lock = FileLock(database.path.with_name(database.path.name + ".cycle.lock"), timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise Busy(
            f"another crswatch check is running on {database.path} (waited {timeout:g}s); try again later"
        ) from None
    except OSError as exc:  # a read-only or full folder: the database's own failure (exit 5), not a bug
        raise DatabaseError(f"cannot lock the database {database.path}: {exc.strerror}") from None
    try:
        yield
    finally:
        lock.release()


async def run_check(config: Config, database: Database, store: Store, *, dry_run: bool = False, accept: tuple[str, ...] = (),
                    accept_new: tuple[str, ...] = (), services: Services | None = None) -> CycleReport:  # fmt: skip
    """One cycle.  Raises FetchFailed / FeedRejected / DatabaseError (after recording the status).

    Rounds that cannot be stored (unreadable, implausible, a doubtful edit not in `accept`, new
    draws that look like a renumbering and are not in `accept_new`) are held: the report lists
    them, the status keeps them, and the feed's validators are not kept, so the next check reads
    the whole feed again and picks each one up once it is fixed.  `services`: the app's bot,
    pacers and store for sending (none given: made for this check)."""
    from crswatch.scraper.crawl import fetch

    from .app import services_of

    services = services or services_of(config, store)

    with database.reader() as view:
        feed_state = get_meta(view, "feed")
    with store.read() as conn:
        before = kv.get(conn, "status")
    early: list[Delivery] = []  # a dry run: the reminders and digests that would be queued
    rehearsal = early if dry_run else None
    # reminders before the first send, so they go out with the due retries; digests of the periods
    # that ended before anything is fetched (a feed that is down delays none)
    remind(config, store, clock(), dry_run=dry_run, planned=rehearsal)
    await asyncio.to_thread(partial(plan_digests, dry_run=dry_run, planned=rehearsal), config, database, store, clock())
    retried = DispatchReport() if dry_run else await deliver(config, store, services)  # due retries first
    validators = feed_state if feed_state.get("source") == config.source else {}
    harvest = await fetch(config.source, validators, config.scrapy_overrides())
    outcome = harvest.outcome or FeedOutcome("failed", "the crawl ended without a result")
    now = datetime.now(UTC)

    if outcome.status in ("failed", "rejected"):
        _give_up(config, services, store, before, now, outcome, retried.dead, dry_run)
    if outcome.status == "unchanged":
        report = CycleReport("unchanged", outcome.reason, dry_run=dry_run, delivery=retried, planned=early)
        with _unwritable(config, services, store, before, now, dry_run), database.transaction(commit=not dry_run) as tx, \
                store.write(commit=not dry_run) as conn:  # fmt: skip
            recognise_late(tx, conn, config, now, report)
            after = update_status(conn, now, "unchanged", outcome.reason, not_modified=outcome.reason.startswith("304"),
                                  secrets=services.secrets)  # fmt: skip
        return await _finish(config, services, store, before, after, now, report, dry_run, send=bool(report.queued))

    with _unwritable(config, services, store, before, now, dry_run):
        report, after, rejection = store_harvest(config, database, store, harvest, now, dry_run, accept, accept_new)
    report.planned[:0] = early
    if rejection is not None:
        notify_operator(config, services, before, after, dead=retried.dead, dry_run=dry_run)
        raise FeedRejected(f"feed rejected, nothing stored: {rejection}")
    report.delivery = retried
    # what this check queued, and what another host queued and has not sent yet
    return await _finish(config, services, store, before, after, now, report, dry_run, send=True)


def _give_up(config: Config, services: Services, store: Store, before: dict[str, Any], now: datetime,
             outcome: FeedOutcome, dead: list[Delivery], dry_run: bool) -> NoReturn:  # fmt: skip
    """A feed that could not be fetched or was rejected: the status and the operator say so."""
    with store.write(commit=not dry_run) as conn:
        after = update_status(conn, now, outcome.status, outcome.reason, secrets=services.secrets)
    notify_operator(config, services, before, after, dead=dead, dry_run=dry_run)
    if outcome.status == "failed":
        raise FetchFailed(f"cannot fetch {config.source}: {outcome.reason}")
    raise FeedRejected(f"feed rejected, nothing stored: {outcome.reason}")


async def _finish(config: Config, services: Services, store: Store, before: dict[str, Any], after: dict[str, Any],
                  now: datetime, report: CycleReport, dry_run: bool, *, send: bool) -> CycleReport:  # fmt: skip
    """Send what is due (when `send`), tell the operator what changed, tidy the store."""
    if send and not dry_run:
        report.delivery.add(await deliver(config, store, services))
    notify_operator(
        config, services, before, after, new_draws=report.new_draws, dead=report.delivery.dead, dry_run=dry_run
    )
    if not dry_run:
        tidy(config, store, now)
    return report


def utcnow() -> datetime:
    return datetime.now(UTC)


clock = utcnow  # what "now" is for reminders (tests plan them on the days they choose)


def remind(
    config: Config, store: Store, now: datetime, *, dry_run: bool = False, planned: list[Delivery] | None = None
) -> int:
    """Queue the reminders due on Ottawa's day of `now` (a birthday that costs points, a test about
    to stop counting, a year of work that adds points, the profile about to expire), each once:
    their keys are recorded in the same transaction.  The subscribers are read once a day; each
    reminder is due over several days, so one planned later than its first day still goes out.
    A dry run adds them to `planned` and rolls back."""
    from crswatch.notifier.outbox import queue
    from crswatch.notifier.reminders import plan_reminders
    from crswatch.subscribers.profile import ottawa_day

    today = ottawa_day(now).isoformat()
    with store.read() as conn:  # the usual case, every tick of `run` but the day's first: a read only
        if kv.get(conn, "reminders").get("day") == today:
            return 0
    with store.write(commit=not dry_run) as conn:
        if kv.get(conn, "reminders").get("day") == today:
            return 0  # another host planned them meanwhile
        reminders = plan_reminders(conn, now, crs_rules(config))
        if planned is not None:
            planned += reminders
        queued = queue(conn, reminders)
        kv.put(conn, "reminders", {"day": today, "queued": queued})
    if queued and not dry_run:
        log.info("reminders: %d queued", queued)
    return queued


@contextmanager
def _unwritable(
    config: Config, services: Services, store: Store, before: dict[str, Any], now: datetime, dry_run: bool
) -> Iterator[None]:
    """When the draws file cannot be written, the status (committed to the SQL store just before
    the file) must not say the check succeeded: it says so, the failure counts, and the last
    success is the one before."""
    try:
        yield
    except DatabaseError as exc:
        if not dry_run:
            with store.write() as conn:
                status = kv.get(conn, "status")
                failures = before.get("consecutive_failures", 0) + 1
                status.update(outcome="unwritable", message=str(exc), consecutive_failures=failures, held=before.get("held") or [],
                              last_success_at=before.get("last_success_at"), new=[])  # fmt: skip
                kv.put(conn, "status", status)
            notify_operator(config, services, before, status)
        raise
