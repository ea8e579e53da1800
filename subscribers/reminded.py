"""Who may want reminders, and which reminders were queued for whom (the `reminders` table: one
row per subscriber and reminder key, erased with the subscriber), read and written only here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from .model import ACTIVE, Subscriber
from .store import read
from .tables import reminders, subscribers

PAGE = 2000


def candidates(conn: Connection) -> Iterator[list[Subscriber]]:
    """Active subscribers who may want reminders (those who chose them, or have a profile and did
    not turn them off), a page at a time."""
    wants = or_(
        subscribers.c.reminders.is_(True), and_(subscribers.c.reminders.is_(None), subscribers.c.profile.is_not(None))
    )
    ids = list(
        conn.scalars(
            select(subscribers.c.id).where(and_(subscribers.c.status == ACTIVE, wants)).order_by(subscribers.c.id)
        )
    )
    for start in range(0, len(ids), PAGE):
        yield read(conn, subscribers.c.id.in_(ids[start : start + PAGE]))


def record(conn: Connection, keys: Iterable[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
    """Record (subscriber, reminder key) pairs; return those that were not recorded before (by any
    host: the primary key decides, in one statement)."""
    from sqlalchemy.dialects import postgresql, sqlite

    rows = [{"subscriber": s, "key": k, "queued_at": now} for s, k in keys]
    if not rows:
        return set()
    insert: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(reminders)
    statement = insert.on_conflict_do_nothing().returning(reminders.c.subscriber, reminders.c.key)
    return {(r[0], r[1]) for r in conn.execute(statement, rows)}


def queued_for(conn: Connection, subscriber: str) -> list[str]:
    """The keys of the reminders queued for a subscriber."""
    return list(
        conn.scalars(select(reminders.c.key).where(reminders.c.subscriber == subscriber).order_by(reminders.c.key))
    )
