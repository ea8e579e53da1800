"""Pool alerts and digests planned by the database (`notifier.periodic_sql`) are exactly the
deliveries the Python planning (`notifier.periodic`, table-tested) makes, on both engines: mixed
subscribers (scores, margins, streams, cadences, paused, several channels, signed up before, during
and after the period, with and without a profile), draws first seen at different moments."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from test_crs_reminders import PROFILE

from crswatch.subscribers.model import Subscriber

_PROFILE = PROFILE.replace("2026-05-01T12:00:00Z", "2025-09-01T12:00:00Z")  # a profile made before these draws
NOW = datetime(2026, 1, 24, 13, 30, tzinfo=UTC)  # Saturday 08:30 in Ottawa: the weekly period just ended
END = NOW - timedelta(minutes=30)  # the weekly period's end
WHEN = NOW - timedelta(days=3)  # the new distribution appears
STREAMS = ("cec", "pnp", "french", "healthcare", "fsw")
SEEN = [NOW - timedelta(days=6, hours=2), NOW - timedelta(days=3), NOW - timedelta(days=3), NOW - timedelta(hours=5)]


def _score_on(sub: Subscriber, day: date) -> int:
    """A profile's score, different on each day (the planning only calls it)."""
    return 420 + (int(sub.id, 36) + day.toordinal()) % 120


def _subscribe(conn: Any, rng: random.Random, n: int) -> None:
    from sqlalchemy import update

    from crswatch.subscribers import manage
    from crswatch.subscribers.tables import subscribers

    defaults = manage.Defaults(10, ("cec",))
    # subscribers often share a score, margin and streams (as 100,000 do), and sign up at any
    # moment: before the period, between its draws, at the very moment a draw, the distribution
    # or the period's end came (each of those is not theirs)
    moments = [*SEEN, WHEN, END] + [NOW - timedelta(days=d, hours=rng.randrange(24)) for d in (30, 6, 5, 3, 1)]
    sub, _ = manage.subscribe(
        conn, score=rng.choice([380, 455, 470, 500, 509, 560]), within=rng.choice([0, 10, 40]),
        streams=rng.choice([["cec"], ["cec", "french"], ["pnp", "healthcare", "fsw"]]), channels=[f"json://127.0.0.1:9/{n}/{k}" for k in range(rng.randrange(1, 4))],
        check=lambda url: url, defaults=defaults, cadence=rng.choice(["instant", "daily", "weekly", "weekly"]),
        pool_alerts=rng.random() < 0.6, now=rng.choice(moments), profile=_PROFILE if rng.random() < 0.2 else None,
        profile_created=rng.choice([None, "2025-10-29T04:35:24Z", "2025-11-02T00:00:00Z"]),
    )  # fmt: skip
    if rng.random() < 0.1:
        conn.execute(update(subscribers).where(subscribers.c.id == sub.id).values(status="paused"))


def _announce(conn: Any) -> dict[str, Any]:
    from crswatch.notifier.outbox import announce

    draws = [("393", "2026-01-19", "pnp", 711), ("394", "2026-01-20", "cec", 509), ("395", "2026-01-20", "french", 400),
             ("396", "2026-01-23", "healthcare", 462)]  # fmt: skip
    for (number, day, stream, crs), seen in zip(draws, SEEN, strict=True):
        record = {"number": number, "date": day, "stream": stream, "program": stream, "crs": crs, "invitations": 1000,
                  "tie_break": "2025-10-30T12:00:00Z"}  # fmt: skip
        announce(conn, [(number, 0, "new", seen, record)])
    previous = {"601-1200": 600, "501-600": 16000, "451-500": 70000, "401-450": 60000, "351-400": 50000}
    pool = {"601-1200": 677, "501-600": 16341, "451-500": 72714, "401-450": 59000, "351-400": 52000}
    distribution = {"as_of": "2026-01-19", "pool": pool | {"total": 200732}, "draw": "394", "previous_as_of": "2026-01-04",
                    "previous_pool": previous | {"total": 196600}}  # fmt: skip
    return distribution


def _rows(found: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {d.id: (d.draw, d.revision, d.kind, d.subscriber, d.channel, d.masked, d.verdict, d.queued_at, d.status, d.attempts,
                   d.last_error, d.previous, d.payload) for d in found}  # fmt: skip


def test_the_database_plans_what_python_plans(store_url: str) -> None:
    from crswatch.notifier.outbox import listing
    from crswatch.notifier.periodic import Period, plan_digests, plan_pool
    from crswatch.notifier.periodic_store import contents, plan_distribution, plan_period
    from crswatch.store.sql import Store
    from crswatch.subscribers.store import iter_recipients

    rng = random.Random(28)
    store = Store(store_url).open()
    try:
        with store.write() as conn:
            for n in range(200):
                _subscribe(conn, rng, n)
            distribution = _announce(conn)
        period = Period("weekly", END - timedelta(days=7), END)
        for score_on in (_score_on, None):  # with the profiles apart (planned in Python), and without
            with store.write(commit=False) as conn:
                planned: list[Any] = []
                pool = list(
                    plan_pool(distribution, iter_recipients(conn, pool_alerts=True, cadence="instant"), WHEN, score_on)
                )
                queued = plan_distribution(conn, distribution, WHEN, score_on, planned=planned)
                found = contents(conn, period)  # with the distribution just announced
                digests = list(plan_digests(period, found, iter_recipients(conn, cadence="weekly"), NOW, score_on))
                queued += plan_period(conn, period, [], NOW, score_on, planned=planned)
                stored = [d for d in listing(conn) if d.kind in ("pool", "digest")]
            assert len(pool) > 15 and len(digests) > 30  # a real mix
            assert queued == len(pool) + len(digests) == len(stored)
            assert _rows(stored) == _rows(pool + digests) == _rows(planned)
            for kind in ("pool", "digest"):  # numbered in one run, each once
                assert sorted(d.seq for d in stored if d.kind == kind) == list(
                    range(sum(d.kind == kind for d in stored))
                )
    finally:
        store.dispose()


def test_a_period_with_only_a_new_distribution_or_with_nothing(store_url: str) -> None:
    """A daily period whose only news is the pool (no draw: every line empty, the figures alone)
    and one with nothing at all (no digest): the same from the database as from Python."""
    from crswatch.notifier.outbox import listing
    from crswatch.notifier.periodic import Period, plan_digests
    from crswatch.notifier.periodic_store import contents, plan_distribution, plan_period
    from crswatch.store.sql import Store
    from crswatch.subscribers.store import iter_recipients

    rng = random.Random(29)
    store = Store(store_url).open()
    try:
        with store.write() as conn:
            for n in range(150):
                _subscribe(conn, rng, n)
            distribution = _announce(conn)
        only_pool = Period("daily", NOW - timedelta(days=2, minutes=30), NOW - timedelta(days=1, minutes=30))
        nothing = Period("daily", NOW - timedelta(days=2, hours=20), NOW - timedelta(days=2, minutes=30))
        for period, expected in ((only_pool, True), (nothing, False)):
            with store.write(commit=False) as conn:
                plan_distribution(conn, distribution, NOW - timedelta(days=1, hours=12), _score_on, plan=False)
                found = contents(conn, period)
                digests = list(plan_digests(period, found, iter_recipients(conn, cadence="daily"), NOW, _score_on))
                queued = plan_period(conn, period, [], NOW, _score_on)
                stored = [d for d in listing(conn) if d.kind == "digest"]
            assert bool(digests) is expected and queued == len(digests) == len(stored)
            assert _rows(stored) == _rows(digests)
            assert all(d.payload["draws"] == [] and d.payload["pool"] for d in stored)
    finally:
        store.dispose()
