"""One check: retry due deliveries, fetch the feed, store what changed, queue and send alerts.

Feed → `scraper` (spider, parsing) → draws table → `notifier` (match, outbox, apprise) → inboxes.
The same coroutine serves `crswatch check` (cron) and every tick of `crswatch run`.  Each
database step is a short transaction; the cycle lock (held by the caller) keeps cycles apart.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NoReturn

from filelock import FileLock, Timeout
from sqlalchemy import Connection

from draws.record import Draw, Malformed, stamp
from draws.table import DRAWS, Changes, Rules, Tables, merge_draws, recognise
from notifier.message import CORRECTION, LATE, NEW
from notifier.outbox import Delivery, DispatchReport, announce, announced_any
from notifier.periodic_store import HISTORY
from notifier.policy import Policy
from notifier.services import Services
from scraper.items import FeedOutcome
from scraper.parse import FeedError
from scraper.pipelines import vet_harvest
from store import kv
from store.draws import Database
from store.errors import DatabaseError
from store.sql import Store

from .config import Config, crs_rules
from .errors import Busy, FeedRejected, FetchFailed
from .periodic import plan_digests, plan_pool
from .status import get_meta, put_meta

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


@dataclass
class CycleReport:
    """What one check did."""

    outcome: str  # "updated" | "unchanged"
    message: str = ""
    changes: Changes = field(default_factory=Changes)
    first_run: bool = False
    known: set[str] = field(default_factory=set)  # this host's first check: new here, announced by another host already
    dry_run: bool = False
    queued: int = 0
    planned: list[Delivery] = field(default_factory=list)  # dry run: what would be queued
    unscored: list[str] = field(default_factory=list)  # profile subscribers left out of a draw: no score on its date
    delivery: DispatchReport = field(default_factory=DispatchReport)

    @property
    def held(self) -> list[Malformed]:
        return self.changes.malformed

    def summary(self) -> str:
        if self.outcome == "unchanged":
            text = f"check: feed unchanged ({self.message})"
            if self.changes.recognised:
                count = len(self.changes.recognised)
                text += f"; {count} draw{'s' if count != 1 else ''} recognised"
        else:
            text = f"check: {self.changes.summary()}"
            if self.first_run:
                text += " (first check: history stored, nobody alerted)"
            elif self.known:
                text += (f" (first check on this host: {len(self.known)} of them already announced by another host"
                         " sharing the store, nobody alerted again)")  # fmt: skip
        if self.dry_run:
            count = len(self.planned)
            return text + f"; {count} alert{'s' if count != 1 else ''} would be sent [dry run: nothing stored or sent]"
        if self.unscored:
            text += f"; {len(self.unscored)} profile match{'es' if len(self.unscored) != 1 else ''} not made (no score on the draw's date: see the warnings)"
        d = self.delivery
        if d.attempted or d.sent or d.failed or d.dead or d.cancelled:
            text += f"; alerts: {d.sent} sent, {d.failed} failed (will retry), {len(d.dead)} dead"
            if d.cancelled:
                text += f", {d.cancelled} cancelled"
        return text

    @property
    def new_draws(self) -> list[Draw]:
        return self.changes.new


def policy_of(config: Config) -> Policy:
    return Policy(
        config.alerts.retry_base,
        config.alerts.retry_cap,
        config.alerts.max_attempts,
        config.alerts.lease,
        config.alerts.store_retry,
    )


async def deliver(config: Config, store: Store, services: Services, kinds: tuple[str, ...] = ()) -> DispatchReport:
    """Send every due delivery (in a worker thread: the event loop stays free)."""
    from notifier.outbox import any_due

    with store.read() as conn:
        if not any_due(conn, datetime.now(UTC)):
            return DispatchReport()  # nothing to send: skip loading the notifier
    from notifier.dispatch import dispatch

    report = await asyncio.to_thread(
        dispatch, store, policy_of(config), concurrency=config.alerts.concurrency, links=links_of(config, store), kinds=kinds,
        contact=config.alerts.contact, services=services,
    )  # fmt: skip
    if report.sent:  # a sent confirmation's link was erased: out of the SQLite write-ahead log too
        await asyncio.to_thread(store.checkpoint)
    return report


def links_of(config: Config, store: Store) -> Any:
    """The subscriber pages for the foot of each alert, when `crswatch serve` is public."""
    if not config.alerts.public_url:
        return None
    from store.kv import secret
    from subscribers.links import Links

    return Links(config.alerts.public_url, secret(store, "links"))


async def run_check(config: Config, database: Database, store: Store, *, dry_run: bool = False, accept: tuple[str, ...] = (),
                    accept_new: tuple[str, ...] = (), services: Services | None = None) -> CycleReport:  # fmt: skip
    """One cycle.  Raises FetchFailed / FeedRejected / DatabaseError (after recording the status).

    Rounds that cannot be stored (unreadable, implausible, a doubtful edit not in `accept`, new
    draws that look like a renumbering and are not in `accept_new`) are held: the report lists
    them, the status keeps them, and the feed's validators are not kept, so the next check reads
    the whole feed again and picks each one up once it is fixed.  `services`: the app's bot,
    pacers and store for sending (none given: made for this check)."""
    from scraper.crawl import fetch

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
            _recognise(tx, conn, config, now, report)
            after = _update_status(
                conn, now, "unchanged", outcome.reason, not_modified=outcome.reason.startswith("304")
            )
        return await _finish(config, services, store, before, after, now, report, dry_run, send=bool(report.queued))

    with _unwritable(config, services, store, before, now, dry_run):
        report, after, rejection = _store(config, database, store, harvest, now, dry_run, accept, accept_new)
    report.planned[:0] = early
    if rejection is not None:
        _notify_operator(config, services, before, after, dead=retried.dead, dry_run=dry_run)
        raise FeedRejected(f"feed rejected, nothing stored: {rejection}")
    report.delivery = retried
    # what this check queued, and what another host queued and has not sent yet
    return await _finish(config, services, store, before, after, now, report, dry_run, send=True)


def _give_up(config: Config, services: Services, store: Store, before: dict[str, Any], now: datetime,
             outcome: FeedOutcome, dead: list[Delivery], dry_run: bool) -> NoReturn:  # fmt: skip
    """A feed that could not be fetched or was rejected: the status and the operator say so."""
    with store.write(commit=not dry_run) as conn:
        after = _update_status(conn, now, outcome.status, outcome.reason)
    _notify_operator(config, services, before, after, dead=dead, dry_run=dry_run)
    if outcome.status == "failed":
        raise FetchFailed(f"cannot fetch {config.source}: {outcome.reason}")
    raise FeedRejected(f"feed rejected, nothing stored: {outcome.reason}")


async def _finish(config: Config, services: Services, store: Store, before: dict[str, Any], after: dict[str, Any],
                  now: datetime, report: CycleReport, dry_run: bool, *, send: bool) -> CycleReport:  # fmt: skip
    """Send what is due (when `send`), tell the operator what changed, tidy the store."""
    if send and not dry_run:
        report.delivery.add(await deliver(config, store, services))
    _notify_operator(
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
    from notifier.outbox import queue
    from notifier.reminders import plan_reminders
    from subscribers.profile import ottawa_day

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


def tidy(config: Config, store: Store, now: datetime) -> None:
    """What the store no longer needs: finished deliveries past their keeping time, and rate-limit
    hits older than the longest window any limit looks at."""
    from limits import parse as parse_limit

    from notifier.outbox import prune
    from store import limits

    web = config.web
    longest = max(parse_limit(limit).get_expiry() for limit in (web.client_limit, web.destination_limit))
    with store.write() as conn:
        prune(conn, now)
        limits.prune(conn, older_than=longest, now=now.timestamp())


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
            _notify_operator(config, services, before, status)
        raise


def rules_of(config: Config) -> Rules:
    return Rules(max_new=config.fetch.max_new, max_back=timedelta(days=config.fetch.max_back_days))


def _store(config: Config, database: Database, store: Store, harvest: Any, now: datetime, dry_run: bool,
           accept: tuple[str, ...] = (), accept_new: tuple[str, ...] = ()) -> tuple[CycleReport, dict[str, Any], str | None]:  # fmt: skip
    """Merge the draws, announce them and queue their alerts.  The SQL transaction commits first,
    then the draws file: after a kill between the two, the next check finds the draws new again,
    but they are announced already, so nothing is planned twice and the queued alerts go out."""
    with database.transaction(commit=not dry_run) as tx, store.write(commit=not dry_run) as conn:
        stored = len(tx.table(DRAWS))
        try:
            vet_harvest(harvest, stored)
        except FeedError as exc:
            return CycleReport("rejected"), _update_status(conn, now, "rejected", str(exc)), str(exc)
        changes = merge_draws(tx, harvest.draws, now, harvest.malformed, accept, accept_new, rules_of(config))
        first_run = stored == 0 and not announced_any(conn)
        report = CycleReport("updated", changes=changes, first_run=first_run, dry_run=dry_run)
        seen = stamp(now)
        new, edited = changes.new_records(), changes.changed_records()  # as merge_draws stored them
        fresh = announce(conn, [(d.number, rec["revision"], NEW, seen, d.to_record()) for d, rec in new]
                         + [(d.number, rec["revision"], CORRECTION, seen, d.to_record()) for d, rec, _ in edited])  # fmt: skip
        if stored == 0 and not first_run:
            report.known = {d.number for d, rec in new if (d.number, rec["revision"], NEW) not in fresh}
        if first_run:  # the history it stores is nobody's news: digests leave it out
            kv.put(conn, HISTORY, {"first_seen": seen})
        if not first_run:
            _plan(conn, report, now, [(d, rec) for d, rec in new if (d.number, 0, NEW) in fresh],
                  [item for item in edited if (item[0].number, item[1]["revision"], CORRECTION) in fresh], rules=crs_rules(config))  # fmt: skip
        _recognise(tx, conn, config, now, report)
        # a new pool distribution: its alerts (a first check, even on a new host, alerts nobody)
        planned = report.planned if dry_run else None
        report.queued += plan_pool(
            tx, conn, config, now, [d.number for d in changes.new], plan=not first_run and stored > 0, planned=planned
        )
        # with a round held, the next check must read the whole feed again (no 304, no same-body skip)
        put_meta(tx, "feed", _validators(config.source, harvest.outcome) if not changes.malformed else {})
        after = _update_status(
            conn, now, "updated", changes.summary(), new=[d.number for d in changes.new], held=changes.malformed
        )
    return report, after, None


def _plan(conn: Connection, report: CycleReport, now: datetime, new: list[tuple[Draw, dict[str, Any]]],
          edited: list[tuple[Draw, dict[str, Any], dict[str, Any]]] = (), late: list[tuple[Draw, dict[str, Any]]] = (),  # type: ignore[assignment]
          rules: tuple[Any, ...] = ()) -> None:  # fmt: skip
    """Plan and queue the alerts of what was announced now: matched against the subscribers whose
    score and margin reach the lowest cut-off involved (the database filters), with each draw's
    first sighting on any host deciding who had subscribed before it."""
    from notifier.fanout import corrected_today, plan
    from notifier.outbox import first_seen, queue
    from subscribers.store import iter_docs

    if not (new or edited or late):
        return
    cutoffs = [d.crs for d, _ in new] + [min(d.crs, old["crs"]) for d, _, old in edited] + [d.crs for d, _ in late]
    seen = first_seen(conn, {d.number for d, _ in new} | {d.number for d, _, _ in edited} | {d.number for d, _ in late})
    new = [(d, rec | {"first_seen": seen.get(d.number, rec["first_seen"])}) for d, rec in new]
    edited = [(d, rec | {"first_seen": seen.get(d.number, rec["first_seen"])}, old) for d, rec, old in edited]
    late = [(d, old | {"first_seen": seen.get(d.number, old.get("first_seen"))}) for d, old in late]
    corrected = corrected_today(conn, {d.number for d, _, _ in edited}, now) if edited else set()
    unscored: list[str] = []
    deliveries = plan(
        new,
        edited,
        iter_docs(conn, reach=min(cutoffs), active_only=True, every_profile=bool(rules)),
        now,
        late=late,
        rules=rules,
        corrected=corrected,
        unscored=unscored,
    )
    for line in unscored:  # never a silent 0: who was left out of which draw, and why (no personal data)
        log.warning("%s", line)
    report.unscored += unscored
    report.planned += deliveries
    report.queued += queue(conn, deliveries)


def _validators(source: str, outcome: FeedOutcome) -> dict[str, Any]:
    return {"source": source, "etag": outcome.etag, "last_modified": outcome.last_modified, "sha256": outcome.sha256}


def _recognise(tx: Tables, conn: Connection, config: Config, now: datetime, report: CycleReport) -> None:
    """Re-classify draws stored as `other` that `[streams]` now names; queue their late alerts."""
    if report.first_run or not len(tx.table(DRAWS)):
        return
    recognised = recognise(tx, config.streams, now)
    if not recognised:
        return
    report.changes.recognised = recognised
    seen = stamp(now)
    fresh = announce(conn, [(d.number, old.get("revision", 0), LATE, seen, d.to_record()) for d, old in recognised])
    _plan(
        conn,
        report,
        now,
        [],
        [],
        [(d, old) for d, old in recognised if (d.number, old.get("revision", 0), LATE) in fresh],
        rules=crs_rules(config),
    )
    for draw, _ in recognised:
        log.warning("draw #%s %r recognised as stream %s", draw.number, draw.program, draw.stream)


def _update_status(conn: Connection, now: datetime, outcome: str, message: str, new: list[str] | None = None, held: list[Malformed] | None = None,
                   not_modified: bool = False) -> dict[str, Any]:  # fmt: skip
    """The shared status, with the checks' counters: kept in the store, not in a process, so that
    they survive restarts and every host's /metrics says the same (see crswatch.metrics)."""
    from notifier.mask import mask_text

    message = mask_text(message)  # kept, shown by `status` and sent to the operator
    status = kv.get(conn, "status")
    ok = outcome in ("updated", "unchanged")
    status.update(
        last_check_at=stamp(now),
        outcome=outcome,
        message=message,
        new=new or [],
        consecutive_failures=0 if ok else status.get("consecutive_failures", 0) + 1,
    )
    if outcome == "updated":  # a feed that was read says what is held now; other outcomes keep the list
        status["held"] = [{"number": m.number, "reason": m.reason} for m in held or []]
    if ok:
        status["last_success_at"] = stamp(now)
    if outcome == "updated":  # a new body: what the public pages call "last changed"
        status["last_changed_at"] = stamp(now)
    checks = status.setdefault("checks", {})
    checks[outcome] = checks.get(outcome, 0) + 1
    status["not_modified"] = status.get("not_modified", 0) + int(not_modified)
    kv.put(conn, "status", status)
    return status


def _notify_operator(
    config: Config,
    services: Services,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    new_draws: Sequence[Draw] = (),
    dead: Sequence[Delivery] = (),
    dry_run: bool = False,
) -> None:
    if dry_run or not config.alerts.operator:
        return
    from notifier.operator import notices

    found = notices(
        before,
        after,
        failures_threshold=config.alerts.operator_after_failures,
        new_draws=list(new_draws),
        dead=list(dead),
    )
    if found:
        send_operator(config, [(n.title, n.text) for n in found], services)


def send_operator(config: Config, messages: list[tuple[str, str]], services: Services) -> None:
    """Best effort: an operator channel that fails is logged (masked), never fatal."""
    from notifier.send import send

    for title, text in messages:
        body = html.escape(text).replace("\n", "<br>")  # names and reasons come from the feed
        for url in config.alerts.operator:
            result = send(url, title, {"text": text, "html": f"<p>{body}</p>"}, services)
            if not result.ok:
                from notifier.channels import mask_url

                log.warning("operator channel %s failed: %s", mask_url(url), result.error)
