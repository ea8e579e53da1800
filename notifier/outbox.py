"""The outbox: one delivery per (draw, revision, kind, subscriber, channel), written before anything
is sent, in the SQL store.

    queued ──send ok──▶ sent
       │
       └─send failed──▶ failed (attempts, last error, next try) ──…──▶ dead after MAX attempts
                           ▲            │
                           └──retry─────┘            `crswatch retry` puts dead ones back in the queue

The delivery id is the primary key, so planning the same alert twice (a rerun, a second host)
queues it once.  A sender *claims* due deliveries (`notifier.claims`) (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's write transaction is exclusive anyway) for a lease, so two hosts never send
the same one; a killed sender's claims return when the lease ends, or at once on its own host
(its process is gone).  A live sender renews the lease of the rows it has not finished while it
sends (`renew`), so a slow route never lets a claim lapse under a message.  Each result is
committed before that worker sends its next message, so a kill at any instant re-sends at most
the messages in flight.  The outbox stores no channel URL:
the delivery names the channel by a hash and the URL is read from the subscriber at send time
(a confirmation, rendered in advance, carries its message until it is sent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, or_, select, update

from .tables import announcements, deliveries

QUEUED, SENT, FAILED, DEAD, CANCELLED = "queued", "sent", "failed", "dead", "cancelled"
CONFIRMATION = "confirmation"  # a delivery kind besides the alerts' new / correction / late
REMINDER = "reminder"  # a reminder that a profile's score is about to change (notifier.reminders)
STATUSES = (QUEUED, SENT, FAILED, DEAD, CANCELLED)
KEEP_SENT = timedelta(days=30)  # finished deliveries are pruned after this
CHUNK = 1000  # deliveries claimed at a time: several senders share a large fan-out


@dataclass(frozen=True)
class Delivery:
    id: str  # "<draw>/<revision>/<subscriber>/<channel hash>"
    draw: str
    revision: int  # 0: the draw's first announcement; n: its n-th correction
    subscriber: str
    channel: str  # channel hash: the URL itself stays in the subscriber record
    masked: str  # the channel URL with secrets hidden, for listings
    verdict: str | None
    kind: str  # "new" | "correction" | "late"
    queued_at: datetime
    seq: int = 0  # order within one queueing: oldest draw first
    status: str = QUEUED
    attempts: int = 0
    next_try: datetime | None = None
    last_error: str = ""
    sent_at: datetime | None = None
    previous: dict[str, Any] | None = field(
        default=None
    )  # the draw as first announced (corrections), first seen (late)
    # a message rendered in advance (confirmations); "accepted": keys of the recipients of a
    # multi-recipient e-mail that already accepted it (a retry goes to the others only)
    payload: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset((self.payload or {}).get("accepted", ()))

    def to_doc(self) -> dict[str, Any]:
        # shallow (dataclasses.asdict deep-copies every payload: a third of queueing 100,000 digests)
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})

    def to_row(self) -> dict[str, Any]:
        # a shallow copy: the nested dicts are serialised just below (asdict's deep copy was a third of queueing)
        row = {name: getattr(self, name) for name in self.__dataclass_fields__}
        row["previous"] = orjson.dumps(self.previous).decode() if self.previous is not None else None
        row["payload"] = orjson.dumps(self.payload).decode() if self.payload is not None else None
        return row

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        doc = dict(row)
        doc["previous"] = orjson.loads(doc["previous"]) if doc.get("previous") else None
        doc["payload"] = orjson.loads(doc["payload"]) if doc.get("payload") else None
        return cls.from_doc(doc)


def delivery_id(draw: str, revision: int, subscriber: str, channel: str, kind: str = "new") -> str:
    """One id per alert that may ever be sent: a late alert (a draw recognised after it was
    stored) has its own, so it can never collide with the draw's other alerts."""
    return f"{draw}/{revision}/{subscriber}/{channel}" + ("/late" if kind == "late" else "")


def confirmation(
    url: str, masked: str, token: str, title: str, bodies: dict[str, str], now: datetime | None = None
) -> Delivery:
    """A sign-up's confirmation message as a delivery: rendered now (it carries the one-time link,
    kept only until it is sent), sent, retried and dead-lettered like any alert."""
    key = hashlib.sha256(token.encode()).hexdigest()
    return Delivery(
        id=f"confirm/{key[:32]}", draw="", revision=0, subscriber=key[:32], channel=key[:24], masked=masked, verdict=None,
        kind=CONFIRMATION, queued_at=now or datetime.now(UTC), payload={"url": url, "title": title, "bodies": bodies},
    )  # fmt: skip


# ------------------------------------------------------------------------------- announcements


def announce(
    conn: Connection, items: Iterable[tuple[str, int, str, datetime, Mapping[str, Any]]]
) -> set[tuple[str, int, str]]:
    """Record (draw, revision, kind, first seen, record) as announced; return those that were not
    yet (on any host): only those are planned."""
    rows = [
        {"draw": d, "revision": r, "kind": k, "first_seen": f, "record": orjson.dumps(rec).decode()}
        for d, r, k, f, rec in items
    ]
    if not rows:
        return set()
    # one statement: RETURNING names only the rows inserted (multi-row VALUES batches, as in `queue`)
    statement = _insert_ignoring(conn, announcements, None).returning(
        announcements.c.draw, announcements.c.revision, announcements.c.kind
    )
    return {tuple(r) for r in conn.execute(statement, rows)}


def first_seen(conn: Connection, draws: Iterable[str]) -> dict[str, datetime]:
    """When each draw was first seen by any host."""
    wanted = list(set(draws))
    query = (
        select(announcements.c.draw, func.min(announcements.c.first_seen))
        .where(announcements.c.draw.in_(wanted))
        .group_by(announcements.c.draw)
    )
    return dict(conn.execute(query).all()) if wanted else {}


DRAW_KINDS = (
    "new",
    "correction",
    "late",
)  # announcements of draws (pool distributions and digest periods are announced too)


def announced_any(conn: Connection) -> bool:
    """Whether any draw was announced: a store that has only digest periods is still new."""
    return (
        conn.execute(select(announcements.c.draw).where(announcements.c.kind.in_(DRAW_KINDS)).limit(1)).first()
        is not None
    )


def records(conn: Connection, keys: Iterable[tuple[str, int, str]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The draw records deliveries were planned from, by (draw, revision, kind)."""
    wanted = set(keys)
    draws = {draw for draw, _, _ in wanted}
    found = {}
    if draws:
        for draw, revision, kind, record in conn.execute(
            select(announcements.c.draw, announcements.c.revision, announcements.c.kind, announcements.c.record).where(
                announcements.c.draw.in_(draws)
            )
        ):
            if (draw, revision, kind) in wanted:
                found[(draw, revision, kind)] = orjson.loads(record)
    return found


# ------------------------------------------------------------------------------------ the queue


def queue(conn: Connection, planned: Iterable[Delivery]) -> int:
    """Add deliveries not already in the outbox (by id); returns how many were added."""
    rows = [d.to_row() for d in planned]
    if not rows:
        return 0
    # RETURNING names only the rows inserted (SQLAlchemy sends them as multi-row VALUES batches)
    return len(conn.execute(_insert_ignoring(conn, deliveries, None).returning(deliveries.c.id), rows).all())


def _insert_ignoring(conn: Connection, table: Any, values: dict[str, Any] | None) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    statement: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    if values is not None:
        statement = statement.values(values)
    return statement.on_conflict_do_nothing()


@dataclass
class Outcome:
    """What became of one delivery's attempt (for the report)."""

    status: str
    delivery: Delivery


def listing(conn: Connection, status: str | None = None, draw: str | None = None) -> list[Delivery]:
    query = select(deliveries)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    if draw is not None:
        query = query.where(deliveries.c.draw == draw)
    return [
        Delivery.from_row(r) for r in conn.execute(query.order_by(deliveries.c.queued_at, deliveries.c.seq)).mappings()
    ]


def counts(conn: Connection) -> dict[str, int]:
    totals = dict.fromkeys(STATUSES, 0)
    for status, number in conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)):
        totals[status] = number
    return totals


def any_due(conn: Connection, now: datetime) -> bool:
    due = or_(deliveries.c.status == QUEUED, and_(deliveries.c.status == FAILED, deliveries.c.next_try <= now))
    return conn.execute(select(deliveries.c.id).where(due).limit(1)).first() is not None


def requeue(conn: Connection, ids: Iterable[str] = (), all_dead: bool = False) -> int:
    """Put dead deliveries back in the queue (by id, or all of them)."""
    condition = deliveries.c.status == DEAD
    if not all_dead:
        condition = and_(condition, deliveries.c.id.in_(list(ids)))
    return conn.execute(update(deliveries).where(condition).values(status=QUEUED, attempts=0, next_try=None)).rowcount


def prune(conn: Connection, now: datetime) -> None:
    """Finished deliveries older than KEEP_SENT go (an announced draw is never planned again)."""
    horizon = now - KEEP_SENT
    finished = deliveries.c.status.in_((SENT, CANCELLED))
    conn.execute(
        delete(deliveries).where(finished, func.coalesce(deliveries.c.sent_at, deliveries.c.queued_at) < horizon)
    )


@dataclass
class DispatchReport:
    attempted: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    dead: list[Delivery] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.dead += other.dead
        self.attempted += other.attempted

    def count(self, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        if outcome.status == SENT:
            self.sent += 1
        elif outcome.status == FAILED:
            self.failed += 1
        elif outcome.status == DEAD:
            self.dead.append(outcome.delivery)
