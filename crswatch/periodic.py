"""The shell's part in pool alerts and digests: gather what the notifier's pure planning needs (the
draws, the forecasts, the configured digest hour, the CRS grids for profiles) and call it inside
the check's transactions."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from crswatch.draws.record import ottawa_today
from crswatch.draws.table import DRAWS, Tables
from crswatch.notifier.outbox import Delivery
from crswatch.notifier.periodic import ScoreOn
from crswatch.store.draws import Database
from crswatch.store.sql import Store
from crswatch.subscribers.model import Subscriber

from .config import Config, crs_rules

log = logging.getLogger("crswatch")
FORECAST_KEYS = ("stream", "next_crs", "low", "high", "next_date", "overdue")


def score_on(rules: tuple[Any, ...]) -> ScoreOn:
    """A subscriber's score on a day (the distribution's, or a draw's): its profile's, else the typed one."""
    from crswatch.notifier.fanout import profile_score

    def scored(sub: Subscriber, day: date) -> int:
        return sub.score if sub.profile is None else profile_score(sub.profile, day, rules)

    return scored


def plan_pool(tx: Tables, conn: Connection, config: Config, now: datetime, new: list[str], plan: bool,
              planned: list[Delivery] | None = None) -> int:  # fmt: skip
    """A new pool distribution among the draws just stored: announce it, and queue its alerts
    unless `plan` is False (a first check alerts nobody); each also added to `planned` if given."""
    from crswatch.notifier.periodic import new_distribution
    from crswatch.notifier.periodic_store import plan_distribution

    if not new:
        return 0
    distribution = new_distribution(tx.table(DRAWS).all(), new)
    if distribution is None:
        return 0
    return plan_distribution(conn, distribution, now, score_on(crs_rules(config)), plan=plan, planned=planned)


def plan_digests(config: Config, database: Database, store: Store, now: datetime, *, dry_run: bool = False,
                 planned: list[Delivery] | None = None) -> int:  # fmt: skip
    """Every digest period that has ended and was not planned yet (on any host): its digests
    queued, in one transaction with its announcement.  How many were queued; each is also added
    to `planned` when given.  A dry run rolls every transaction back."""
    from crswatch.notifier.outbox import announced_any
    from crswatch.notifier.periodic import due_periods
    from crswatch.notifier.periodic_store import last_period, plan_period

    alerts = config.alerts
    queued = 0
    forecasts: list[dict[str, Any]] | None = None
    for cadence in ("daily", "weekly"):
        with store.read() as conn:  # every cycle asks; a read, so an idle `run` tick writes nothing
            if not announced_any(conn):
                return 0  # no draw stored yet: the first check stores the history and alerts nobody
            periods = due_periods(cadence, now, alerts.digest_hour, alerts.digest_weekday, last_period(conn, cadence))
        for period in periods:
            if forecasts is None:
                forecasts = _forecasts(database, now)
            with store.write(commit=not dry_run) as conn:
                queued += plan_period(conn, period, forecasts, now, score_on(crs_rules(config)), planned)
    return queued


def _forecasts(database: Database, now: datetime) -> list[dict[str, Any]]:
    """Every active stream's next-draw forecast, as `crswatch forecast` gives it."""
    from crswatch.history.answers import NoAnswer, forecast_rows
    from crswatch.history.stats import oldest_first

    with database.reader() as view:
        records = oldest_first(view.table(DRAWS).all())
    try:
        rows = forecast_rows(records, (), None, 1, ottawa_today(now))
    except NoAnswer:
        return []
    return [{k: row.get(k) for k in FORECAST_KEYS} for row in rows]
