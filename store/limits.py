"""Moving-window rate limits kept in the SQL store, so several `serve` processes share them."""

from __future__ import annotations

import time

from sqlalchemy import Column, Connection, Float, Index, MetaData, String, Table, delete, func, insert, select

metadata = MetaData()
hits = Table("hits", metadata, Column("key", String(200), nullable=False), Column("at", Float, nullable=False), Index("hits_key", "key", "at"))


def hit(conn: Connection, key: str, amount: int, seconds: float, now: float | None = None) -> bool:
    """Record one hit on `key` unless `amount` hits already fell within the last `seconds`."""
    now = time.time() if now is None else now
    recent = conn.scalar(select(func.count()).select_from(hits).where(hits.c.key == key, hits.c.at > now - seconds)) or 0
    if recent >= amount:
        return False
    conn.execute(insert(hits).values(key=key[:200], at=now))
    return True


def prune(conn: Connection, older_than: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    conn.execute(delete(hits).where(hits.c.at < now - older_than))
