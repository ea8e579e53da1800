"""The outbox: one delivery per (draw, subscriber, channel), written before anything is sent.

    queued ──send ok──▶ sent
       │
       └─send failed──▶ failed (attempts, last error, next try) ──…──▶ dead after MAX attempts
                           ▲            │
                           └──retry─────┘            `crswatch retry` puts dead ones back in the queue

Sending never writes the outbox file directly: each result is appended to a journal
(`outbox.journal`, one line, flushed before the next message leaves that worker) and the journal
is folded into the outbox in one transaction.  A process killed at any instant therefore loses no
result except those of the messages in flight, which are sent again by the next check (at most
`concurrency` duplicates).  The outbox stores no channel URL: the delivery names the channel by
a hash and the URL is read from the subscriber at send time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from scraper.items import stamp

PART, TABLE = "outbox", "deliveries"
QUEUED, SENT, FAILED, DEAD, CANCELLED = "queued", "sent", "failed", "dead", "cancelled"
STATUSES = (QUEUED, SENT, FAILED, DEAD, CANCELLED)
KEEP_SENT = timedelta(days=30)  # finished deliveries are pruned after this


@dataclass(frozen=True)
class Policy:
    retry_base: float = 60.0
    retry_cap: float = 6 * 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        """Capped exponential backoff: base, 2×base, 4×base, … up to the cap."""
        return min(self.retry_cap, self.retry_base * 2 ** max(0, attempts - 1))


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
    queued_at: str
    seq: int = 0  # order within one queueing: oldest draw first
    status: str = QUEUED
    attempts: int = 0
    next_try: str | None = None
    last_error: str = ""
    sent_at: str | None = None
    previous: dict[str, Any] | None = field(default=None)  # the draw as first announced (corrections), first seen (late)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})


def delivery_id(draw: str, revision: int, subscriber: str, channel: str, kind: str = "new") -> str:
    """One id per alert that may ever be sent: a late alert (a draw recognised after it was
    stored) has its own, so it can never collide with the draw's other alerts."""
    return f"{draw}/{revision}/{subscriber}/{channel}" + ("/late" if kind == "late" else "")


def queue(tx: Any, deliveries: Iterable[Delivery]) -> int:
    """Add deliveries not already in the outbox (by id): one insert for the whole batch."""
    known = {doc["id"] for doc in tx.raw(PART, TABLE).values()}
    fresh = [d.to_doc() for d in deliveries if d.id not in known]
    if fresh:
        tx.part(PART).table(TABLE).insert_multiple(fresh)
    return len(fresh)


def due(view: Any, now: datetime) -> list[Delivery]:
    """Queued deliveries and failed ones whose next try has come, oldest first."""
    stamp = _iso(now)
    rows = [
        Delivery.from_doc(doc)
        for doc in view.raw(PART, TABLE).values()
        if doc["status"] == QUEUED or (doc["status"] == FAILED and (doc["next_try"] or "") <= stamp)
    ]
    rows.sort(key=lambda d: (d.queued_at, d.seq))
    return rows


def listing(view: Any, status: str | None = None, draw: str | None = None) -> list[Delivery]:
    rows = [
        Delivery.from_doc(doc)
        for doc in view.raw(PART, TABLE).values()
        if (status is None or doc["status"] == status) and (draw is None or doc["draw"] == draw)
    ]
    rows.sort(key=lambda d: (d.queued_at, d.seq))
    return rows


def counts(view: Any) -> dict[str, int]:
    totals = dict.fromkeys(STATUSES, 0)
    for doc in view.raw(PART, TABLE).values():
        totals[doc["status"]] = totals.get(doc["status"], 0) + 1
    return totals


def requeue(tx: Any, ids: Iterable[str] = (), all_dead: bool = False) -> int:
    """Put dead deliveries back in the queue (by id, or all of them)."""
    wanted = set(ids)
    doc_ids = [
        int(k)
        for k, doc in tx.raw(PART, TABLE).items()
        if doc["status"] == DEAD and (all_dead or doc["id"] in wanted)
    ]
    if doc_ids:
        tx.part(PART).table(TABLE).update({"status": QUEUED, "attempts": 0, "next_try": None}, doc_ids=doc_ids)
    return len(doc_ids)


@dataclass
class FoldReport:
    sent: int = 0
    failed: int = 0
    dead: list[Delivery] = field(default_factory=list)
    cancelled: int = 0


def fold(tx: Any, entries: list[dict[str, Any]], policy: Policy, now: datetime) -> FoldReport:
    """Apply journal entries to the outbox in one update (idempotent: safe to fold twice)."""
    report = FoldReport()
    if not entries:
        return report
    docs = {doc["id"]: (int(k), doc) for k, doc in tx.raw(PART, TABLE).items()}
    changes: dict[int, dict[str, Any]] = {}
    for entry in entries:
        found = docs.get(entry["id"])
        if found is None:
            continue
        _, doc = found
        current = {**doc, **changes.get(entry["id"], {})}
        if current["status"] in (SENT, DEAD, CANCELLED) or entry["attempt"] <= current["attempts"] and entry["result"] != SENT:
            continue  # already folded, or finished
        update: dict[str, Any]
        if entry["result"] == SENT:
            update = {"status": SENT, "sent_at": entry["at"], "attempts": max(current["attempts"], entry["attempt"]), "last_error": ""}
            report.sent += 1
        elif entry["result"] == CANCELLED:
            update = {"status": CANCELLED, "last_error": entry.get("error", "")}
            report.cancelled += 1
        elif entry["attempt"] >= policy.max_attempts:
            update = {"status": DEAD, "attempts": entry["attempt"], "last_error": entry.get("error", ""), "next_try": None}
            report.dead.append(Delivery.from_doc({**current, **update}))
        else:
            retry_at = datetime.fromisoformat(entry["at"]) + timedelta(seconds=policy.delay(entry["attempt"]))
            update = {"status": FAILED, "attempts": entry["attempt"], "last_error": entry.get("error", ""), "next_try": _iso(retry_at)}
            report.failed += 1
        changes[entry["id"]] = {**changes.get(entry["id"], {}), **update}
    if changes:
        doc_ids = [docs[key][0] for key in changes]
        tx.part(PART).table(TABLE).update(lambda doc: doc.update(changes[doc["id"]]), doc_ids=doc_ids)
    _prune(tx, now)
    return report


def _prune(tx: Any, now: datetime) -> None:
    horizon = _iso(now - KEEP_SENT)
    old = [int(k) for k, doc in tx.raw(PART, TABLE).items() if doc["status"] in (SENT, CANCELLED) and (doc.get("sent_at") or doc["queued_at"]) < horizon]
    if old:
        tx.part(PART).table(TABLE).remove(doc_ids=old)


@dataclass
class DispatchReport:
    attempted: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    dead: list[Delivery] = field(default_factory=list)

    def add(self, folded: FoldReport | DispatchReport) -> None:
        self.sent += folded.sent
        self.failed += folded.failed
        self.cancelled += folded.cancelled
        self.dead += folded.dead
        self.attempted += getattr(folded, "attempted", 0)


class Journal:
    """Append-only results of sends since the last fold, shared by the sending threads."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None

    def record(self, delivery: Delivery, result: str, at: datetime, error: str = "") -> None:
        line = orjson.dumps({"id": delivery.id, "result": result, "attempt": delivery.attempts + 1, "at": _iso(at), "error": error}) + b"\n"
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, line)  # in the kernel now: survives a kill of this process

    def sync(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def entries(self) -> list[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        entries = []
        for line in data.splitlines():
            try:
                entries.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # a line cut by a crash: its message counts as in flight
        return entries

    def clear(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.path.unlink(missing_ok=True)


_iso = stamp

