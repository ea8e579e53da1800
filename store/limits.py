"""Moving-window rate limits kept in the SQL store, so several `serve` processes share them."""

from __future__ import annotations

import time

from sqlalchemy import Column, Connection, Float, Index, MetaData, String, Table, delete, func, insert, select

from .sql import lock

metadata = MetaData()
hits = Table(
    "hits",
    metadata,
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Index("hits_key", "key", "at"),
)


def hit(conn: Connection, key: str, amount: int, seconds: float, now: float | None = None) -> bool:
    """Record one hit on `key` unless `amount` hits already fell within the last `seconds`.

    The count and the insert are one step across processes: on PostgreSQL, two transactions that
    both counted 9 of 10 would both insert (READ COMMITTED), so the key's advisory lock is held to
    the commit; on SQLite the write transaction (BEGIN IMMEDIATE) already is exclusive."""
    now = time.time() if now is None else now
    lock(conn, f"limit:{key[:200]}")
    if count(conn, key, seconds, now) >= amount:
        return False
    conn.execute(insert(hits).values(key=key[:200], at=now))
    return True


def count(conn: Connection, key: str, seconds: float, now: float | None = None) -> int:
    """The hits on `key` within the last `seconds` (a look: records nothing)."""
    now = time.time() if now is None else now
    return (
        conn.scalar(select(func.count()).select_from(hits).where(hits.c.key == key[:200], hits.c.at > now - seconds))
        or 0
    )


def prune(conn: Connection, older_than: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    conn.execute(delete(hits).where(hits.c.at < now - older_than))
