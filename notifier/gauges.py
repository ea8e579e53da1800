"""The outbox as figures, for `/metrics` (crswatch.metrics): read at scrape time, never kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, literal_column, or_, select

from .outbox import FAILED, QUEUED
from .tables import deliveries as d


@dataclass
class OutboxGauges:
    by_status_channel: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, channel kind) → deliveries
    depth: int = 0  # waiting to be sent: queued, or failed and to be retried
    oldest_due_age: float = 0.0  # seconds the oldest delivery due now has waited (0: none)
    claims: int = 0  # held by a sender right now (lease running)


def channel_kind(conn: Connection) -> Any:
    """A delivery's channel kind, the scheme of its masked URL (mailto, json, tgram…), in SQL."""
    if conn.dialect.name == "postgresql":
        return func.split_part(d.c.masked, "://", 1)
    return func.substr(d.c.masked, 1, func.instr(d.c.masked, literal_column("'://'")) - 1)


def outbox_gauges(conn: Connection, now: datetime) -> OutboxGauges:
    kind = channel_kind(conn)
    found = OutboxGauges()
    for status, channel, n in conn.execute(select(d.c.status, kind, func.count()).group_by(d.c.status, kind)):
        found.by_status_channel[(status, channel or "unknown")] = n
    found.depth = conn.scalar(select(func.count()).where(d.c.status.in_((QUEUED, FAILED)))) or 0
    due = or_(d.c.status == QUEUED, and_(d.c.status == FAILED, d.c.next_try <= now))
    oldest = conn.scalar(select(func.min(d.c.queued_at)).where(due))
    found.oldest_due_age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    found.claims = conn.scalar(select(func.count()).where(d.c.claimed_until >= now)) or 0
    return found
