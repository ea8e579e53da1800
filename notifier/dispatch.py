"""Dispatch: claim due deliveries, send them, store each result before that worker sends again.

The store is handed in by the app; each step is a short transaction, so `subscribe` or `status`
never wait for a whole fan-out, and several hosts may dispatch from one store at once (claims).
"""

from __future__ import annotations


import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from draws.match import Verdict
from draws.record import Draw
from store.sql import Store
from subscribers.links import Links
from subscribers.store import channel_hash, find_many

from .message import Alert, render
from .outbox import (
    CONFIRMATION,
    Delivery,
    DispatchReport,
    Policy,
    cancel,
    claim,
    claimant,
    record,
    record_sent,
    records,
)
from .send import Outgoing, send_many

Clock = Callable[[], datetime]
log = logging.getLogger("crswatch.dispatch")


def utcnow() -> datetime:
    return datetime.now(UTC)


def dispatch(store: Store, policy: Policy, *, concurrency: int, links: Links | None = None, clock: Clock = utcnow,
             kinds: tuple[str, ...] = (), contact: str = "") -> DispatchReport:  # fmt: skip
    """Send every due delivery (queued, and failed ones whose next try has come), chunk by chunk."""
    report = DispatchReport()
    owner = claimant()
    began = clock()  # a failure retried "now" waits for the next dispatch, not this one's next chunk
    while True:
        started = time.perf_counter()
        with store.write() as conn:
            claimed = claim(conn, clock(), owner, only_kinds=kinds, lease=policy.lease, due_by=began)
            if not claimed:
                return report
            outgoing, by_key = _prepare(conn, claimed, links, owner, report, contact)
        report.attempted += len(outgoing)
        prepared = time.perf_counter()
        with Results(store, policy, owner, clock, report, bound=concurrency) as results:
            send_many(outgoing, concurrency, lambda key, result: results.save(by_key[key], result.ok, result.error), results.gate.acquire)
        log.info("dispatch: %d claimed, prepared in %.2f s, sent in %.2f s", len(claimed), prepared - started, time.perf_counter() - prepared)


def _prepare(conn: Connection, claimed: list[Delivery], links: Links | None, owner: str, report: DispatchReport,
             contact: str = "") -> tuple[list[Outgoing], dict[str, Delivery]]:  # fmt: skip
    draws = {key: Draw.from_record(rec) for key, rec in records(conn, {(d.draw, d.revision, d.kind) for d in claimed if d.kind != CONFIRMATION}).items()}
    subscribers = find_many(conn, {d.subscriber for d in claimed if d.kind != CONFIRMATION})
    outgoing: list[Outgoing] = []
    by_key: dict[str, Delivery] = {}
    for delivery in claimed:
        if delivery.kind == CONFIRMATION:
            payload = delivery.payload or {}
            if not payload.get("url"):
                report.cancelled += cancel(conn, delivery, "nothing to send", owner)
                continue
            outgoing.append(Outgoing(delivery.id, payload["url"], payload["title"], payload["bodies"]))
            by_key[delivery.id] = delivery
            continue
        found = subscribers.get(delivery.subscriber)
        sub = found.subscriber if found else None
        channel = next((c for c in sub.channels if channel_hash(c.url) == delivery.channel), None) if sub else None
        draw = draws.get((delivery.draw, delivery.revision, delivery.kind))
        if sub is None or channel is None or draw is None or not sub.active:
            reason = "unsubscribed" if sub is None else "channel removed" if channel is None else "paused" if not sub.active else "draw missing"
            report.cancelled += cancel(conn, delivery, reason, owner)
            continue
        scored = (delivery.payload or {}).get("score")  # a profile's score on the draw's date, as matched
        if scored is not None:
            sub = replace(sub, score=int(scored))
        alert = Alert(draw, sub, Verdict(delivery.verdict) if delivery.verdict else None, delivery.kind, delivery.previous,
                      from_profile=scored is not None)  # fmt: skip
        title, bodies = render(alert, links, contact)
        unsubscribe = links.for_subscriber(sub.id, sub.language)[1] if links else ""
        outgoing.append(Outgoing(delivery.id, channel.url, title, bodies, unsubscribe, contact))
        by_key[delivery.id] = delivery
    return outgoing, by_key


class Results:
    """Stores results as they come.  At most `bound` messages are in flight, counting from the
    moment one is about to leave until its result is committed (`gate`), so a kill re-sends at
    most that many.  One thread writes, a group of results per transaction; the senders only wait
    when the bound is reached."""

    def __init__(self, store: Store, policy: Policy, owner: str, clock: Clock, report: DispatchReport, bound: int):
        self.store, self.policy, self.owner, self.clock, self.report = store, policy, owner, clock, report
        self.gate = threading.BoundedSemaphore(max(1, bound))
        self.queue: queue.Queue[tuple[Delivery, bool, str, datetime] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="results", daemon=True)

    def __enter__(self) -> Results:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error

    def save(self, delivery: Delivery, ok: bool, error: str) -> None:
        self.queue.put((delivery, ok, error, self.clock()))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            batch = [item]
            while True:
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.queue.put(None)
                    break
                batch.append(more)
            try:
                if self.error is None:
                    with self.store.write() as conn:
                        self.report.sent += record_sent(conn, [d for d, ok, *_ in batch if ok], batch[-1][3], self.owner)
                        for delivery, ok, error, at in batch:
                            if not ok:
                                self.report.count(record(conn, delivery, ok, error, at, self.policy, self.owner))
            except Exception as exc:  # noqa: BLE001 - reported after the send; the claims lapse
                self.error = exc
            finally:
                for _ in batch:
                    self.gate.release()
