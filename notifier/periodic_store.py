"""Pool alerts and digests in the store: each distribution and each digest period is announced
once across every host (like a draw), and only the host that announces it plans its deliveries,
in the same transaction: a rerun, a second host or a kill between the two never plans twice."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from crswatch.draws.record import from_iso, stamp
from crswatch.store import kv
from crswatch.store.moment import stamp as stored_moment
from crswatch.subscribers.store import iter_recipients

from .outbox import DRAW_KINDS, Delivery, _insert_ignoring, announce
from .periodic import DIGEST, POOL, Contents, Period, ScoreOn, plan_digests, plan_pool
from .periodic_sql import queue_digests, queue_pool
from .tables import announcements, deliveries

HISTORY = "history_stored"  # kv: when the first check stored the history (announced, but nobody's news)


def plan_distribution(
    conn: Connection,
    distribution: Mapping[str, Any],
    now: datetime,
    score_on: ScoreOn | None = None,
    plan: bool = True,
    planned: list[Delivery] | None = None,
) -> int:
    """Announce a new distribution; when this host is the first to, queue its pool alerts
    (`plan`: False on a first check, which alerts nobody).  How many were queued; each is also
    added to `planned` when given (a dry run lists them)."""
    record = {k: distribution[k] for k in ("as_of", "pool", "draw", "previous_as_of", "previous_pool")}
    if not announce(conn, [(distribution["as_of"], 0, POOL, now, record)]) or not plan:
        return 0
    # the database plans everyone whose score is the one they typed; Python, the profiles (each
    # scored on the distribution's date), numbered after the others: they are sent last
    queued = queue_pool(conn, distribution, now, with_profiles=score_on is None)
    if score_on is not None:
        recipients = iter_recipients(conn, pool_alerts=True, cadence="instant", profiles_only=True)
        queued += queue_all(conn, plan_pool(distribution, recipients, now, score_on, first_seq=queued))
    return _listed(conn, POOL, distribution["as_of"], planned, queued)


def last_period(conn: Connection, cadence: str) -> str | None:
    """The key of the last digest period of this cadence that was planned (d… or w…)."""
    letter = cadence[0]
    query = select(func.max(announcements.c.draw)).where(
        announcements.c.kind == DIGEST, announcements.c.draw.like(f"{letter}%")
    )
    found: str | None = conn.scalar(query)
    return found


def contents(conn: Connection, period: Period) -> Contents:
    """The draws announced in the period (the latest record of each, oldest first; first seen by
    any host) and the pool's change across it."""
    rows = conn.execute(
        select(announcements.c.draw, announcements.c.revision, announcements.c.kind, announcements.c.first_seen, announcements.c.record)
        .where(announcements.c.kind.in_((*DRAW_KINDS, POOL)), announcements.c.first_seen >= period.start,
               announcements.c.first_seen < period.end)
        .order_by(announcements.c.first_seen)
    ).all()  # fmt: skip
    draws: dict[str, dict[str, Any]] = {}
    pools = []
    history = from_iso(kv.get(conn, HISTORY).get("first_seen"))  # (kv keeps text)
    for draw, _revision, kind, seen, record in rows:
        if seen == history:
            continue  # stored by the first check, which alerts nobody
        if kind == POOL:
            pools.append(orjson.loads(record))
        else:
            draws[draw] = orjson.loads(record)  # later announcements (corrections) replace earlier ones
    first = _first_seen(conn, list(draws))
    pool = None
    if pools:
        pool = {"as_of": pools[-1]["as_of"], "pool": pools[-1]["pool"], "previous_as_of": pools[0]["previous_as_of"],
                "previous_pool": pools[0]["previous_pool"]}  # fmt: skip
    ordered = sorted(draws.values(), key=lambda r: (r["date"], first.get(r["number"], period.start)))
    return Contents(ordered, pool, first)


def _first_seen(conn: Connection, numbers: Sequence[str]) -> dict[str, datetime]:
    if not numbers:
        return {}
    query = (select(announcements.c.draw, func.min(announcements.c.first_seen))
             .where(announcements.c.draw.in_(numbers), announcements.c.kind.in_(DRAW_KINDS)).group_by(announcements.c.draw))  # fmt: skip
    return dict(conn.execute(query).all())


def plan_period(
    conn: Connection,
    period: Period,
    forecasts: Sequence[Mapping[str, Any]],
    now: datetime,
    score_on: ScoreOn | None = None,
    planned: list[Delivery] | None = None,
) -> int:
    """Announce a digest period (once across hosts) and queue its digests; how many were queued
    (each also added to `planned` when given)."""
    found = contents(conn, period)
    shown = [{k: r.get(k) for k in ("number", "date", "stream", "program", "crs", "invitations")} for r in found.draws]
    pool = {k: v for k, v in found.pool.items() if k in ("as_of", "previous_as_of")} if found.pool else None
    record = {"cadence": period.cadence, "start": stamp(period.start), "end": stamp(period.end), "draws": shown, "pool": pool,
              "forecasts": list(forecasts)}  # fmt: skip
    if not announce(conn, [(period.key, 0, DIGEST, now, record)]):
        return 0  # another host (or an earlier run) planned it
    queued = queue_digests(conn, period, found, now, with_profiles=score_on is None)
    if score_on is not None:
        recipients = iter_recipients(conn, cadence=period.cadence, profiles_only=True)
        queued += queue_all(conn, plan_digests(period, found, recipients, now, score_on, first_seq=queued))
    return _listed(conn, DIGEST, period.key, planned, queued)


def _listed(conn: Connection, kind: str, key: str, planned: list[Delivery] | None, queued: int) -> int:
    """Add to `planned` (a dry run's list) the deliveries just queued for this distribution or
    period: only this transaction can have queued any, having announced it."""
    if planned is not None:
        query = select(deliveries).where(deliveries.c.kind == kind, deliveries.c.draw == key).order_by(deliveries.c.seq)
        planned += [Delivery.from_row(row) for row in conn.execute(query).mappings()]
    return queued


CHUNK = 5000  # deliveries written at a time: 100,000 never sit in memory at once


def queue_all(conn: Connection, planned: Iterable[Delivery], kept: list[Delivery] | None = None) -> int:
    """Add planned deliveries not in the outbox yet (by id), a chunk at a time, as plain
    executemany batches (no RETURNING: the count comes from the rows inserted); each is also
    added to `kept` when given."""
    # compiled once and sent as the driver's own executemany: SQLAlchemy's per-row work was a
    # third of queueing 100,000 digests
    compiled = _insert_ignoring(conn, deliveries, None).compile(dialect=conn.dialect)
    names = list(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    row = _rows(names)
    added = 0
    stream = iter(planned)
    while batch := list(islice(stream, CHUNK)):
        if kept is not None:
            kept += batch
        encoded: dict[int, str] = {}  # payloads shared by many deliveries (see plan_digests), encoded once per chunk
        added += conn.exec_driver_sql(str(compiled), [row(d, encoded) for d in batch]).rowcount
    return added


FIELDS = tuple(Delivery.__dataclass_fields__)
UNSET = ("claimed_until", "claimed_by", "claimed_host", "claimed_pid", "previous")  # None in a new row


def _rows(order: list[str] | None) -> Callable[[Delivery, dict[int, str]], Any]:
    """A function making a delivery's row: a tuple in the statement's order (positional drivers),
    else a dict.  `encoded` caches payload JSON and moments' text by the object's identity: safe
    within one chunk, whose deliveries keep them alive."""
    fields = attrgetter(*FIELDS)
    payload_at = FIELDS.index("payload")
    # the driver's own executemany binds no SQLAlchemy type: the moments become `Moment`'s text here
    moments = [FIELDS.index(name) for name in ("queued_at", "next_try", "sent_at")]
    names = order or [*FIELDS, *(name for name in UNSET if name not in FIELDS)]
    taken = [None if name in UNSET else FIELDS.index(name) for name in names]

    def row(delivery: Delivery, encoded: dict[int, str]) -> Any:
        values = list(fields(delivery))
        payload = values[payload_at]
        if payload is not None:
            text = encoded.get(id(payload))
            if text is None:
                text = encoded[id(payload)] = orjson.dumps(payload).decode()
            values[payload_at] = text
        for at in moments:
            if values[at] is not None:
                text = encoded.get(id(values[at]))  # a planning's deliveries share one `now`
                if text is None:
                    text = encoded[id(values[at])] = stored_moment(values[at])
                values[at] = text
        found = tuple(None if at is None else values[at] for at in taken)
        return found if order else dict(zip(names, found, strict=True))

    return row
