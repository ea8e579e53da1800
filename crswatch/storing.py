"""The cycle's middle step: a harvest merged into the draws file and the store (the SQL transaction
commits first, then the file), what changed announced once across hosts, and its alerts planned
and queued; late alerts for draws `[streams]` now names; the shared status every host reads."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from crswatch.draws.guard import Rules
from crswatch.draws.record import Draw, Malformed, StoredDraw, stamp
from crswatch.draws.table import DRAWS, Tables, merge_draws, recognise
from crswatch.notifier.mask import Secrets, mask_text
from crswatch.notifier.message import CORRECTION, LATE, NEW
from crswatch.notifier.outbox import announce, announced_any
from crswatch.notifier.periodic_store import HISTORY
from crswatch.scraper.items import FeedOutcome
from crswatch.scraper.parse import FeedError
from crswatch.scraper.pipelines import vet_harvest
from crswatch.store import kv
from crswatch.store.draws import Database
from crswatch.store.sql import Store

from .config import Config, crs_rules
from .periodic import plan_pool
from .report import CycleReport
from .status import put_meta

log = logging.getLogger("crswatch")


def rules_of(config: Config) -> Rules:
    return Rules(max_new=config.fetch.max_new, max_back=timedelta(days=config.fetch.max_back_days))


def store_harvest(config: Config, database: Database, store: Store, harvest: Any, now: datetime, dry_run: bool,
           accept: tuple[str, ...] = (), accept_new: tuple[str, ...] = ()) -> tuple[CycleReport, dict[str, Any], str | None]:  # fmt: skip
    """Merge the draws, announce them and queue their alerts.  The SQL transaction commits first,
    then the draws file: after a kill between the two, the next check finds the draws new again,
    but they are announced already, so nothing is planned twice and the queued alerts go out."""
    with database.transaction(commit=not dry_run) as tx, store.write(commit=not dry_run) as conn:
        stored = len(tx.table(DRAWS))
        try:
            vet_harvest(harvest, stored)
        except FeedError as exc:
            return CycleReport("rejected"), update_status(conn, now, "rejected", str(exc)), str(exc)
        changes = merge_draws(tx, harvest.draws, now, harvest.malformed, accept, accept_new, rules_of(config))
        first_run = stored == 0 and not announced_any(conn)
        report = CycleReport("updated", changes=changes, first_run=first_run, dry_run=dry_run)
        new, edited = changes.new_records(), changes.changed_records()  # as merge_draws stored them
        fresh = announce(conn, [(d.number, rec["revision"], NEW, now, d.to_record()) for d, rec in new]
                         + [(d.number, rec["revision"], CORRECTION, now, d.to_record()) for d, rec, _ in edited])  # fmt: skip
        if stored == 0 and not first_run:
            report.known = {d.number for d, rec in new if (d.number, rec["revision"], NEW) not in fresh}
        if first_run:  # the history it stores is nobody's news: digests leave it out
            kv.put(conn, HISTORY, {"first_seen": stamp(now)})
        if not first_run:
            _plan(conn, report, now, [(d, rec) for d, rec in new if (d.number, 0, NEW) in fresh],
                  [item for item in edited if (item[0].number, item[1]["revision"], CORRECTION) in fresh], rules=crs_rules(config))  # fmt: skip
        recognise_late(tx, conn, config, now, report)
        # a new pool distribution: its alerts (a first check, even on a new host, alerts nobody)
        planned = report.planned if dry_run else None
        report.queued += plan_pool(
            tx, conn, config, now, [d.number for d in changes.new], plan=not first_run and stored > 0, planned=planned
        )
        # with a round held, the next check must read the whole feed again (no 304, no same-body skip)
        put_meta(tx, "feed", _validators(config.source, harvest.outcome) if not changes.malformed else {})
        after = update_status(
            conn, now, "updated", changes.summary(), new=[d.number for d in changes.new], held=changes.malformed
        )
    return report, after, None


def _plan(conn: Connection, report: CycleReport, now: datetime, new: list[tuple[Draw, StoredDraw]],
          edited: list[tuple[Draw, StoredDraw, StoredDraw]] = (), late: list[tuple[Draw, StoredDraw]] = (),  # type: ignore[assignment]
          rules: tuple[Any, ...] = ()) -> None:  # fmt: skip
    """Plan and queue the alerts of what was announced now: matched against the subscribers whose
    score and margin reach the lowest cut-off involved (the database filters), with each draw's
    first sighting on any host deciding who had subscribed before it."""
    from crswatch.notifier.fanout import corrected_today, plan
    from crswatch.notifier.outbox import first_seen, queue
    from crswatch.subscribers.store import iter_all

    if not (new or edited or late):
        return
    cutoffs = [d.crs for d, _ in new] + [min(d.crs, old["crs"]) for d, _, old in edited] + [d.crs for d, _ in late]
    seen = first_seen(conn, {d.number for d, _ in new} | {d.number for d, _, _ in edited} | {d.number for d, _ in late})
    new = [(d, _seen_first(rec, seen.get(d.number))) for d, rec in new]
    edited = [(d, _seen_first(rec, seen.get(d.number)), old) for d, rec, old in edited]
    late = [(d, _seen_first(old, seen.get(d.number))) for d, old in late]
    corrected = corrected_today(conn, {d.number for d, _, _ in edited}, now) if edited else set()
    unscored: list[str] = []
    deliveries = plan(
        new,
        edited,
        iter_all(conn, reach=min(cutoffs), active_only=True, every_profile=bool(rules)),
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


def _seen_first(record: StoredDraw, first_seen: datetime | None) -> StoredDraw:
    """The record with its first sighting on any host (the announcements' own, if any), which
    decides who had subscribed before the draw."""
    copy = record.copy()
    if first_seen is not None:
        copy["first_seen"] = stamp(first_seen)
    return copy


def _validators(source: str, outcome: FeedOutcome) -> dict[str, Any]:
    return {"source": source, "etag": outcome.etag, "last_modified": outcome.last_modified, "sha256": outcome.sha256}


def recognise_late(tx: Tables, conn: Connection, config: Config, now: datetime, report: CycleReport) -> None:
    """Re-classify draws stored as `other` that `[streams]` now names; queue their late alerts."""
    if report.first_run or not len(tx.table(DRAWS)):
        return
    recognised = recognise(tx, config.streams, now)
    if not recognised:
        return
    report.changes.recognised = recognised
    fresh = announce(conn, [(d.number, old.get("revision", 0), LATE, now, d.to_record()) for d, old in recognised])
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


def update_status(conn: Connection, now: datetime, outcome: str, message: str, new: list[str] | None = None, held: list[Malformed] | None = None,
                   not_modified: bool = False, secrets: Secrets | None = None) -> dict[str, Any]:  # fmt: skip
    """The shared status, with the checks' counters: kept in the store, not in a process, so that
    they survive restarts and every host's /metrics says the same (see crswatch.metrics).
    `secrets`: the app's, hidden from the message (a fetch error may quote the feed's URL)."""
    message = mask_text(message, secrets)  # kept, shown by `status` and sent to the operator
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
