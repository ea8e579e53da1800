"""Dispatch: send every due delivery of the outbox, record each result, fold the results in.

The database is handed in by the app (which alone opens it); each step here is a short
transaction, so `subscribe` or `status` never wait for a whole fan-out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scraper.items import Draw
from scraper.store import DRAWS
from subscribers.links import Links
from subscribers.store import channel_hash, find_many

from .match import Verdict
from .message import Alert, render
from .outbox import CANCELLED, FAILED, SENT, Delivery, DispatchReport, FoldReport, Journal, Policy, due, fold
from .send import Outgoing, send_many

Clock = Callable[[], datetime]
log = logging.getLogger("crswatch.dispatch")


def utcnow() -> datetime:
    return datetime.now(UTC)


def fold_journal(database: Any, journal: Journal, policy: Policy, now: datetime) -> FoldReport:
    """Fold the journal into the outbox (one transaction), then clear it.  Idempotent."""
    entries = journal.entries()
    if not entries:
        return FoldReport()
    with database.transaction() as tx:
        report = fold(tx, entries, policy, now)
    journal.clear()
    return report


def dispatch(database: Any, journal: Journal, policy: Policy, *, concurrency: int, links: Links | None = None, clock: Clock = utcnow) -> DispatchReport:
    """Send all due deliveries (queued, and failed ones whose next try has come)."""
    started = time.perf_counter()
    report = DispatchReport()
    report.add(fold_journal(database, journal, policy, clock()))  # results left by a killed run
    now = clock()
    with database.reader() as view:
        pending = due(view, now)
        if not pending:
            return report
        wanted = {d.draw for d in pending}
        draws = {doc["number"]: Draw.from_record(doc) for doc in view.raw("main", DRAWS).values() if doc["number"] in wanted}
        subscribers = find_many(view, {d.subscriber for d in pending})
    outgoing: list[Outgoing] = []
    by_key: dict[str, Delivery] = {}
    for delivery in pending:
        found = subscribers.get(delivery.subscriber)
        sub = found.subscriber if found else None
        channel = next((c for c in sub.channels if channel_hash(c.url) == delivery.channel), None) if sub else None
        draw = draws.get(delivery.draw)
        if sub is None or channel is None or draw is None or not sub.active:
            reason = "unsubscribed" if sub is None else "channel removed" if channel is None else "paused" if not sub.active else "draw missing"
            journal.record(delivery, CANCELLED, now, reason)
            continue
        alert = Alert(draw, sub, Verdict(delivery.verdict) if delivery.verdict else None, delivery.kind, delivery.previous)
        title, bodies = render(alert, links)
        unsubscribe = links.for_subscriber(sub.id)[1] if links else ""
        outgoing.append(Outgoing(delivery.id, channel.url, title, bodies, unsubscribe))
        by_key[delivery.id] = delivery
    report.attempted = len(outgoing)
    prepared = time.perf_counter()

    def on_result(key: str, result: Any) -> None:
        journal.record(by_key[key], SENT if result.ok else FAILED, clock(), result.error)

    send_many(outgoing, concurrency, on_result)
    journal.sync()
    sent = time.perf_counter()
    report.add(fold_journal(database, journal, policy, clock()))
    log.info(
        "dispatch: %d due, prepared in %.2f s, sent in %.2f s, folded in %.2f s",
        len(pending), prepared - started, sent - prepared, time.perf_counter() - sent,
    )
    return report
