"""Pool alerts and digests queued by the database itself: 100,000 subscribers share few payloads
(a pool alert's figures depend on the score alone; a digest's on the score, margin, streams,
profile time and which of the period's draws came after the subscriber), so Python works out each
distinct payload once, and one `INSERT … SELECT` joins the subscribers' channels to them.  No
subscriber row crosses into Python: the Python planning (`notifier.periodic`) took 3.6 s to read,
plan and queue 100,000 where this takes 1.2-1.5 s, most of it the outbox's own index upkeep.

Subscribers with a CRS profile score differently on each date, so the caller plans those in
Python (`with_profiles=False` here leaves them out); this module plans everyone else.  The rows are the
ones the Python planning makes (a test compares the two on mixed subscribers, on both engines).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import count
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    func,
    insert,
    literal,
    null,
    select,
    type_coerce,
)

from crswatch.store.moment import read
from crswatch.subscribers.model import INSTANT, Subscriber
from crswatch.subscribers.store import recipient_channels

from .outbox import QUEUED, _insert_ignoring
from .periodic import DIGEST, POOL, Contents, Period, digest_lines
from .standing import Standings
from .tables import deliveries

_names = count()  # temporary tables live as long as the connection: a fresh name each time


def queue_pool(conn: Connection, distribution: Mapping[str, Any], now: datetime, with_profiles: bool) -> int:
    """Queue the pool alerts of a new distribution for every active, instant subscriber who asked
    for them and subscribed before it appeared (without `with_profiles`, only those without a profile)."""
    who = recipient_channels(cadence=INSTANT, before=now, pool_alerts=True, with_profiles=with_profiles).subquery()
    standings = Standings(distribution["pool"], distribution.get("previous_pool"))
    scores = conn.scalars(select(who.c.score).distinct()).all()
    rows = [{"score": s, "payload": _json(standings.doc(s) | {"from_profile": False})} for s in scores]
    payloads = _temporary(conn, "pool", rows, Column("score", Integer), Column("payload", Text))
    queued = _queue(conn, POOL, distribution["as_of"], now, who, payloads, who.c.score == payloads.c.score)
    payloads.drop(conn)
    return queued


def queue_digests(conn: Connection, period: Period, contents: Contents, now: datetime, with_profiles: bool) -> int:
    """Queue the period's digests for every active subscriber on its cadence who has something to
    hear (without `with_profiles`, only those without a profile)."""
    who = recipient_channels(cadence=period.cadence, before=period.end, with_profiles=with_profiles).subquery()
    pool = contents.pool
    standings = Standings(pool["pool"], pool.get("previous_pool")) if pool is not None else None
    # the profile time as its stored text: a group (and the join below) takes it as it is
    after, created = _after(contents, who.c.created_at), func.coalesce(type_coerce(who.c.profile_created, Text), "")
    shape = (who.c.score, who.c.within, who.c.streams, created, after)
    rows = []
    for score, within, streams, profile_created, bucket, earliest in conn.execute(
        select(*shape, func.min(who.c.created_at)).group_by(*shape)
    ):
        # the group's earliest subscriber stands for all of it: the lines depend only on these
        sample = Subscriber(id="", score=score, within=within, streams=tuple(orjson.loads(streams)), created_at=earliest,
                            profile_created=read(profile_created) if profile_created else None, channels=(), token_hash="")  # fmt: skip
        lines, others = digest_lines(contents, sample, None)
        figures = standings.doc(score) if standings is not None else None
        if lines or figures is not None:  # nothing to say: no digest
            payload = _json({"draws": lines, "others": others, "pool": figures})
            rows.append({"score": score, "within": within, "streams": streams, "created": profile_created, "after": bucket,
                         "payload": payload})  # fmt: skip
    groups = _temporary(conn, "digest", rows, Column("score", Integer), Column("within", Integer), Column("streams", Text),
                        Column("created", Text), Column("after", Integer), Column("payload", Text))  # fmt: skip
    g = groups.c
    on = and_(
        who.c.score == g.score,
        who.c.within == g.within,
        who.c.streams == g.streams,
        created == g.created,
        after == g.after,
    )
    queued = _queue(conn, DIGEST, period.key, now, who, groups, on)
    groups.drop(conn)
    return queued


def _after(contents: Contents, created_at: Any) -> Any:
    """Which of the period's draws came after a subscriber: how many of the draws' first-seen
    times are at or before their subscription (a draw is theirs when first seen after it)."""
    times = sorted({t for r in contents.draws if (t := (contents.seen or {}).get(r["number"])) is not None})
    if not times:
        return literal(0)
    return case(*((created_at < t, i) for i, t in enumerate(times)), else_=len(times))


def _temporary(conn: Connection, kind: str, rows: Sequence[dict[str, Any]], *columns: Column[Any]) -> Table:
    table = Table(f"planned_{kind}_{next(_names)}", MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(conn)
    if rows:
        conn.execute(insert(table), list(rows))
    return table


def _queue(conn: Connection, kind: str, key: str, seen: datetime, who: Any, payloads: Table, on: Any) -> int:
    """One delivery per channel of each recipient joined to a payload, numbered in (subscriber,
    channel) order; a delivery already queued (by id) is left alone.  The count is of the key's
    deliveries in the outbox, all queued now: `announce` lets one transaction plan a key."""
    columns: dict[str, Any] = {
        "id": literal(f"{kind}/{key}/") + who.c.id + literal("/") + who.c.key,
        "draw": literal(key), "revision": literal(0), "kind": literal(kind), "subscriber": who.c.id, "channel": who.c.key,
        "masked": who.c.masked, "verdict": null(), "queued_at": literal(seen, deliveries.c.queued_at.type),
        "seq": func.row_number().over(order_by=(who.c.id, who.c.position)) - 1,
        "status": literal(QUEUED), "attempts": literal(0), "last_error": literal(""), "payload": payloads.c.payload,
    }  # fmt: skip
    # the WHERE keeps SQLite from reading the upsert's ON CONFLICT as the join's ON
    rows = select(*columns.values()).select_from(who.join(payloads, on)).where(literal(True))
    conn.execute(_insert_ignoring(conn, deliveries, None).from_select(list(columns), rows))
    # counted, not the statement's rowcount (psycopg reports -1 for this INSERT … SELECT): only
    # the transaction that announced this key queues its deliveries
    return conn.scalar(select(func.count()).where(deliveries.c.kind == kind, deliveries.c.draw == key)) or 0


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
