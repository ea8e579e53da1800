"""One check: fetch the feed, store what changed, then hand new draws to the notifier.

Feed → `scraper` (spider, parsing) → draws table → `notifier` → subscribers' inboxes.  The same
coroutine serves `crswatch check` (cron) and every tick of `crswatch run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scraper.items import Draw, FeedOutcome
from scraper.parse import FeedError
from scraper.store import Changes, merge_draws, vet_harvest

from .config import Config
from .db import Database
from .errors import FeedRejected, FetchFailed
from .status import get_meta, iso, put_meta


@dataclass
class CycleReport:
    """What one check did."""

    outcome: str  # "updated" | "unchanged" | "failed" | "rejected"
    message: str = ""
    changes: Changes = field(default_factory=Changes)
    first_run: bool = False
    dry_run: bool = False

    def summary(self) -> str:
        if self.outcome == "unchanged":
            return f"check: feed unchanged ({self.message})"
        text = f"check: {self.changes.summary()}"
        if self.first_run:
            text += " (first check: history stored, nobody alerted)"
        if self.dry_run:
            text += " [dry run: nothing stored or sent]"
        return text

    @property
    def new_draws(self) -> list[Draw]:
        return self.changes.new


async def run_check(config: Config, database: Database, *, dry_run: bool = False) -> CycleReport:
    """Fetch, vet and store the feed once.  Raises FetchFailed / FeedRejected (status recorded)."""
    from scraper.crawl import fetch

    with database.reader() as view:
        feed_state = get_meta(view, "feed")
    validators = feed_state if feed_state.get("source") == config.source else {}
    harvest = await fetch(config.source, validators, config.scrapy_overrides())
    outcome = harvest.outcome or FeedOutcome("failed", "the crawl ended without a result")
    now = datetime.now(UTC)

    if outcome.status == "failed":
        _record(database, now, "failed", outcome.reason, dry_run)
        raise FetchFailed(f"cannot fetch {config.source}: {outcome.reason}")
    if outcome.status == "rejected":
        _record(database, now, "rejected", outcome.reason, dry_run)
        raise FeedRejected(f"feed rejected, nothing stored: {outcome.reason}")
    if outcome.status == "unchanged":
        _record(database, now, "unchanged", outcome.reason, dry_run)
        return CycleReport("unchanged", outcome.reason, dry_run=dry_run)

    rejection = None
    with database.transaction(commit=not dry_run) as tx:
        try:
            stored = len(tx.table("draws"))
            vet_harvest(harvest, stored)
        except FeedError as exc:
            rejection = str(exc)
            _update_status(tx, now, "rejected", rejection)
        else:
            changes = merge_draws(tx, harvest.draws, now, harvest.malformed)
            put_meta(tx, "feed", _validators(config.source, outcome))
            _update_status(tx, now, "updated", changes.summary(), new=[d.number for d in changes.new])
    if rejection is not None:
        raise FeedRejected(f"feed rejected, nothing stored: {rejection}")
    return CycleReport("updated", changes=changes, first_run=stored == 0, dry_run=dry_run)


def _validators(source: str, outcome: FeedOutcome) -> dict[str, Any]:
    return {"source": source, "etag": outcome.etag, "last_modified": outcome.last_modified, "sha256": outcome.sha256}


def _record(database: Database, now: datetime, outcome: str, message: str, dry_run: bool) -> None:
    with database.transaction(commit=not dry_run) as tx:
        _update_status(tx, now, outcome, message)


def _update_status(tx: Any, now: datetime, outcome: str, message: str, new: list[str] | None = None) -> None:
    status = get_meta(tx, "status")
    ok = outcome in ("updated", "unchanged")
    status.update(
        last_check_at=iso(now),
        outcome=outcome,
        message=message,
        new=new or [],
        consecutive_failures=0 if ok else status.get("consecutive_failures", 0) + 1,
    )
    if ok:
        status["last_success_at"] = iso(now)
    put_meta(tx, "status", status)
