"""Subscribers in SQL: one row per subscriber, one row per channel.

A channel's key (a hash of the destination) is the primary key of `channels`, so one destination
belongs to one subscriber: the database itself keeps that rule.  Every function takes the
Connection of the caller's transaction (`store.sql.Store.write()` / `read()`).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, func, literal, or_, select, true, tuple_
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update

from .identity import destination_key
from .model import Channel, Subscriber, hash_token, new_id
from .tables import channels, reminders, subscribers
from .validate import Invalid


@dataclass
class Found:
    subscriber: Subscriber
    doc_id: int = 0


def get(conn: Connection, key: str) -> Found | None:
    """The subscriber with this id, or whose unsubscribe token this is."""
    key = key.strip()
    subscriber_id = key.split(".", 1)[0]
    found = find_many(conn, [subscriber_id]).get(subscriber_id)
    if found is not None and "." in key and not hmac.compare_digest(found.subscriber.token_hash, hash_token(key)):
        return None
    return found


def require(conn: Connection, key: str) -> Found:
    found = get(conn, key)
    if found is None:
        raise Invalid([f"no subscriber with id or token {key.split('.', 1)[0]!r} (see: crswatch subscribers)"])
    return found


def owners(conn: Connection, urls: Iterable[str]) -> dict[str, str]:
    """{url: subscriber id} for the given channels that are already subscribed."""
    by_key = {destination_key(url): url for url in urls}
    found: dict[str, str] = {}
    keys = list(by_key)
    for start in range(0, len(keys), 500):
        rows = conn.execute(
            select(channels.c.key, channels.c.subscriber).where(channels.c.key.in_(keys[start : start + 500]))
        )
        found.update({by_key[key]: owner for key, owner in rows})
    return found


def find_many(conn: Connection, ids: Iterable[str]) -> dict[str, Found]:
    """{id: Found} for the ids that exist."""
    wanted = list(set(ids))
    found: dict[str, Found] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({sub.id: Found(sub) for sub in read(conn, subscribers.c.id.in_(chunk))})
    return found


def all_ids(conn: Connection) -> set[str]:
    return set(conn.scalars(select(subscribers.c.id)))


def unique_id(conn: Connection, taken: set[str] | None = None) -> str:
    """A fresh id; pass `taken` (from `all_ids`) when making many, to check without re-reading."""
    while True:
        candidate = new_id()
        exists = candidate in taken if taken is not None else get(conn, candidate) is not None
        if exists:
            continue
        if taken is not None:
            taken.add(candidate)
        return candidate


def insert(conn: Connection, new: Iterable[Subscriber]) -> None:
    rows = [_row(sub) for sub in new]
    if rows:
        conn.execute(sql_insert(subscribers), rows)
        conn.execute(sql_insert(channels), [c for sub in new for c in _channel_rows(sub)])


def replace_all(conn: Connection, pairs: Iterable[tuple[Found, Subscriber]]) -> None:
    """Write new versions of stored subscribers; their channels are replaced."""
    pairs = list(pairs)
    if not pairs:
        return
    # one executemany, however many changed: each row's other columns become the SET clause
    rows = [{k: v for k, v in _row(new).items() if k != "id"} | {"key_id": new.id} for _, new in pairs]
    conn.execute(sql_update(subscribers).where(subscribers.c.id == bindparam("key_id")), rows)
    ids = [new.id for _, new in pairs]
    if ids:
        conn.execute(sql_delete(channels).where(channels.c.subscriber.in_(ids)))
        conn.execute(sql_insert(channels), [c for _, new in pairs for c in _channel_rows(new)])


def delete(conn: Connection, found: Found) -> None:
    conn.execute(sql_delete(reminders).where(reminders.c.subscriber == found.subscriber.id))
    conn.execute(sql_delete(channels).where(channels.c.subscriber == found.subscriber.id))
    conn.execute(sql_delete(subscribers).where(subscribers.c.id == found.subscriber.id))


def iter_all(
    conn: Connection,
    reach: int | None = None,
    active_only: bool = False,
    every_profile: bool = False,
) -> Iterator[Subscriber]:
    """Subscribers, oldest first, channels included; with `reach`, only those whose score
    plus margin reaches it (a cut-off they are within): the database does the first filter, so
    matching a draw against 100,000 subscribers reads only the few it may concern.  A profile's
    score changes with the date: its ceiling stands for the score here, and the fan-out scores the
    profile on the draw's date.  `every_profile`: read every profile whatever its ceiling (the
    ceilings were computed on the shipped grids; an operator's own may give more)."""
    condition: Any = true()
    if reach is not None:
        reaches = func.coalesce(subscribers.c.profile_ceiling, subscribers.c.score) + subscribers.c.within >= reach
        condition = and_(condition, or_(reaches, subscribers.c.profile.is_not(None)) if every_profile else reaches)
    if active_only:
        condition = and_(condition, subscribers.c.status == "active")
    key = tuple_(subscribers.c.created_at, subscribers.c.id)
    after: Any = true()
    while True:  # a page at a time, oldest first: listing 100,000 subscribers streams in little memory
        page = read(conn, and_(condition, after), limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = key > tuple_(literal(page[-1].created_at, subscribers.c.created_at.type), literal(page[-1].id))


def iter_recipients(
    conn: Connection, *, cadence: str | None = None, pool_alerts: bool | None = None, profiles_only: bool = False
) -> Iterator[Subscriber]:
    """Active subscribers (on one cadence, who asked for pool alerts, with a profile) with each
    channel's key and masked form, never its URL (what planning pool alerts and digests reads): one
    ordered pass over each table, merged by id, so 100,000 stream through in little memory and time
    (pages would sort the table once each)."""
    condition: Any = subscribers.c.status == "active"
    if cadence is not None:
        condition = and_(condition, subscribers.c.cadence == cadence)
    if pool_alerts is not None:
        condition = and_(condition, subscribers.c.pool_alerts.is_(pool_alerts))
    if profiles_only:
        condition = and_(condition, subscribers.c.profile.is_not(None))
    people = conn.execute(
        select(subscribers).where(condition).order_by(subscribers.c.id).execution_options(yield_per=PAGE)
    )
    # in the index's order (subscriber): a subscriber's channels all become deliveries, in any order
    ways = conn.execute(select(channels.c.subscriber, channels.c.key, channels.c.masked).join(subscribers, channels.c.subscriber == subscribers.c.id)
                        .where(condition).order_by(channels.c.subscriber).execution_options(yield_per=PAGE))  # fmt: skip
    # rows a page at a time (Result.partitions): a third cheaper than one fetch per row
    ways_rows = chain.from_iterable(ways.partitions())
    pending = next(ways_rows, None)
    for row in chain.from_iterable(people.partitions()):
        found: list[Channel] = []
        while pending is not None and pending[0] <= row.id:
            if pending[0] == row.id:
                found.append(Channel(pending[1], pending[2]))
            pending = next(ways_rows, None)
        yield _subscriber(row, found)


def recipient_channels(
    *, cadence: str, before: datetime, pool_alerts: bool | None = None, with_profiles: bool = True
) -> Any:
    """A query of the channels of active subscribers on `cadence` who subscribed before `before`
    (and asked for pool alerts, or have no profile, when said): one row per channel with what
    planning in the database reads (`notifier.periodic_sql`), never the URL."""
    s, c = subscribers.c, channels.c
    condition = and_(s.status == "active", s.cadence == cadence, s.created_at < before)
    if pool_alerts is not None:
        condition = and_(condition, s.pool_alerts.is_(pool_alerts))
    if not with_profiles:
        condition = and_(condition, s.profile.is_(None))
    columns = (s.id, s.score, s.within, s.streams, s.profile_created, s.created_at, c.key, c.masked, c.position)
    return select(*columns).select_from(subscribers.join(channels, c.subscriber == s.id)).where(condition)


def count(conn: Connection) -> int:
    return conn.scalar(select(func.count()).select_from(subscribers)) or 0


PAGE = 2000


def read(conn: Connection, condition: Any, limit: int | None = None) -> list[Subscriber]:
    """The subscribers `condition` selects (at most `limit`), oldest first, channels included."""
    query = select(subscribers).where(condition).order_by(subscribers.c.created_at, subscribers.c.id)
    rows = conn.execute(query.limit(limit) if limit else query).all()
    ways: dict[str, list[Channel]] = {row.id: [] for row in rows}
    ids = list(ways)
    for start in range(0, len(ids), 500):
        query = select(channels.c.subscriber, channels.c.masked, channels.c.url).where(
            channels.c.subscriber.in_(ids[start : start + 500])
        )
        # each key made from its URL: a row that migration 0002 could not re-key (its destination
        # was taken) keeps an older key in the table, but its deliveries name the destination
        for owner, masked, url in conn.execute(query.order_by(channels.c.subscriber, channels.c.position)):
            ways[owner].append(Channel.of(url, masked))
    return [_subscriber(row, ways[row.id]) for row in rows]


#: The `subscribers` columns, each named as the `Subscriber` field it holds.
_FIELDS = tuple(subscribers.c.keys())


def _subscriber(row: Any, ways: list[Channel]) -> Subscriber:
    """The subscriber a whole `subscribers` row and its channels make (read by position: a digest
    makes 100,000, and a lookup by name for each of their 15 columns adds up)."""
    values = dict(zip(_FIELDS, row, strict=True))
    values["streams"] = tuple(orjson.loads(values["streams"]))
    return Subscriber(**values, channels=tuple(ways))


def _row(sub: Subscriber) -> dict[str, Any]:
    row = {name: getattr(sub, name) for name in _FIELDS}
    row["streams"] = orjson.dumps(list(sub.streams)).decode()
    return row


def _channel_rows(sub: Subscriber) -> list[dict[str, Any]]:
    return [
        {"key": c.key, "subscriber": sub.id, "position": i, "url": c.destination, "masked": c.masked}
        for i, c in enumerate(sub.channels)
    ]
