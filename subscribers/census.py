"""Subscribers and sign-ups as figures, for `/metrics` (crswatch.metrics): counts only, never a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from .model import ACTIVE, PAUSED
from .tables import pending, subscribers


def subscribers_by_status(conn: Connection) -> dict[str, int]:
    found: dict[str, int] = {ACTIVE: 0, PAUSED: 0}
    for status, n in conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status)):
        found[status] = n
    return found


def sign_ups_by_state(conn: Connection, now: datetime) -> dict[str, int]:
    """Sign-ups from the web page: waiting for confirmation, confirmed, or expired unconfirmed (until tidied)."""
    states = {
        "waiting": and_(pending.c.used.is_(None), pending.c.expires > now),
        "confirmed": pending.c.used.is_not(None),
        "expired": and_(pending.c.used.is_(None), pending.c.expires <= now),
    }
    return {
        state: conn.scalar(select(func.count()).select_from(pending).where(where)) or 0
        for state, where in states.items()
    }
