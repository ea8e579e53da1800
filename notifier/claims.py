"""Claims on the outbox: a sender takes due deliveries for a lease (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL; SQLite's write transaction is exclusive anyway), so two hosts never send the
same one; it renews the lease while it sends, records each result (only the holder, only once),
and releases what it did not send.  A killed sender's claims return when the lease ends, or at once
on its own host (its process is gone).  See `notifier.outbox` for the life of a delivery."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select, update

from crswatch.store.host import alive_here, host_name, split_holder

from .outbox import CANCELLED, CHUNK, DEAD, FAILED, QUEUED, SENT, Delivery, Outcome
from .policy import LEASE, Policy
from .tables import deliveries


def claimant() -> str:
    """Who holds a claim: this host and process."""
    return f"{host_name()}:{os.getpid()}"


def claim(conn: Connection, now: datetime, owner: str, limit: int = CHUNK, only_kinds: tuple[str, ...] = (),
          lease: float = LEASE.total_seconds(), due_by: datetime | None = None) -> list[Delivery]:  # fmt: skip
    """Claim up to `limit` due deliveries (queued, or failed whose next try has come by `due_by`,
    default now), oldest first, that nobody holds: never two senders for one delivery."""
    _release_dead_claims(conn, now)
    due = and_(
        or_(
            deliveries.c.status == QUEUED,
            and_(deliveries.c.status == FAILED, deliveries.c.next_try <= (due_by or now)),
        ),
        or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
    )
    if only_kinds:
        due = and_(due, deliveries.c.kind.in_(only_kinds))
    query = select(deliveries.c.id).where(due).order_by(deliveries.c.queued_at, deliveries.c.seq).limit(limit)
    ids = list(conn.scalars(query.with_for_update(skip_locked=True)))
    if not ids:
        return []
    host, pid = split_holder(owner)
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(
        claimed_until=now + timedelta(seconds=lease), claimed_by=owner, claimed_host=host, claimed_pid=pid))  # fmt: skip
    rows = conn.execute(select(deliveries).where(deliveries.c.id.in_(ids))).mappings().all()
    found = sorted((Delivery.from_row(r) for r in rows), key=lambda d: (d.queued_at, d.seq))
    return found


def _release_dead_claims(conn: Connection, at: datetime) -> None:
    """Claims of processes on this host that are gone (killed) end now, not when their lease does.
    The host is compared exactly, in a column of its own: any character may be in its name."""
    mine = and_(
        deliveries.c.claimed_until >= at,
        deliveries.c.claimed_host == host_name(),
        deliveries.c.claimed_pid.is_not(None),
    )
    pids = conn.scalars(select(deliveries.c.claimed_pid).where(mine).distinct()).all()
    gone = [pid for pid in pids if not alive_here(pid)]
    if gone:
        conn.execute(update(deliveries).where(mine, deliveries.c.claimed_pid.in_(gone)).values(
            claimed_until=None, claimed_by=None, claimed_host=None, claimed_pid=None))  # fmt: skip


def record(conn: Connection, delivery: Delivery, ok: bool, error: str, at: datetime, policy: Policy, owner: str,
           accepted: Iterable[str] = ()) -> Outcome | None:  # fmt: skip
    """Store one attempt's result: sent, failed (with its next try) or dead.  Only the claim's
    holder records it, and only once (None otherwise).  `accepted`: the recipients (keys) that
    took a failed message all the same; kept, so that a retry skips them."""
    attempts = delivery.attempts + 1
    if ok:
        values: dict[str, Any] = {
            "status": SENT,
            "sent_at": at,
            "attempts": attempts,
            "last_error": "",
            "payload": None,
        }
    elif attempts >= policy.max_attempts:
        values = {"status": DEAD, "attempts": attempts, "last_error": error, "next_try": None}
    else:
        values = {
            "status": FAILED,
            "attempts": attempts,
            "last_error": error,
            "next_try": at + timedelta(seconds=policy.delay(attempts)),
        }
    if not ok and set(accepted) - delivery.accepted:
        payload = {**(delivery.payload or {}), "accepted": sorted(delivery.accepted | set(accepted))}
        values["payload"] = orjson.dumps(payload).decode()
    values |= {"claimed_until": None, "claimed_by": None}
    mine = and_(
        deliveries.c.id == delivery.id, deliveries.c.claimed_by == owner, deliveries.c.status.in_((QUEUED, FAILED))
    )
    if conn.execute(update(deliveries).where(mine).values(values)).rowcount != 1:
        return None
    stored = {
        **values,
        "payload": orjson.loads(values["payload"])
        if values.get("payload")
        else values.get("payload", delivery.payload),
    }
    return Outcome(values["status"], Delivery.from_doc({**delivery.to_doc(), **stored}))


def record_sent(conn: Connection, sent: list[Delivery], at: datetime, owner: str) -> int:
    """Store many successes at once (one statement: the fan-out's hot path); how many were stored."""
    if not sent:
        return 0
    mine = and_(
        deliveries.c.id.in_([d.id for d in sent]),
        deliveries.c.claimed_by == owner,
        deliveries.c.status.in_((QUEUED, FAILED)),
    )
    values = {"status": SENT, "sent_at": at, "attempts": deliveries.c.attempts + 1, "last_error": "", "payload": None,
              "claimed_until": None, "claimed_by": None}  # fmt: skip
    return conn.execute(update(deliveries).where(mine).values(values)).rowcount


def renew(conn: Connection, ids: list[str], now: datetime, owner: str, lease: float) -> int:
    """Extend this sender's claim on the deliveries of its chunk that it has not finished yet
    (those it finished carry no claim any more); how many it still holds."""
    mine = and_(deliveries.c.id.in_(ids), deliveries.c.claimed_by == owner, deliveries.c.status.in_((QUEUED, FAILED)))
    return conn.execute(update(deliveries).where(mine).values(claimed_until=now + timedelta(seconds=lease))).rowcount


def release(conn: Connection, ids: list[str], owner: str) -> int:
    """Give back this sender's claim on deliveries it will not send after all (due again at once)."""
    mine = and_(deliveries.c.id.in_(ids), deliveries.c.claimed_by == owner, deliveries.c.status.in_((QUEUED, FAILED)))
    values = {"claimed_until": None, "claimed_by": None, "claimed_host": None, "claimed_pid": None}
    return conn.execute(update(deliveries).where(mine).values(values)).rowcount


def cancel(conn: Connection, delivery: Delivery, reason: str, owner: str) -> bool:
    mine = and_(
        deliveries.c.id == delivery.id, deliveries.c.claimed_by == owner, deliveries.c.status.in_((QUEUED, FAILED))
    )
    values = {"status": CANCELLED, "last_error": reason, "claimed_until": None, "claimed_by": None, "payload": None}
    return conn.execute(update(deliveries).where(mine).values(values)).rowcount == 1
