"""The outbox's deliveries a sender handles together (a chunk): claimed, read and rendered.

Claiming is a short write transaction of its own; the subscribers and draws are read in a read
transaction and the messages rendered outside any write, so that the next chunk can be taken
in the background (`Ahead`) while the results of the one being sent go on being stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from crswatch.draws.match import Verdict
from crswatch.draws.record import Draw, stored_draw
from crswatch.store.errors import StoreError
from crswatch.store.sql import Store
from crswatch.subscribers.links import Links
from crswatch.subscribers.model import Subscriber
from crswatch.subscribers.store import Found, find_many

from . import outbox
from .claims import cancel, claim, release
from .letters import DEFAULT, Letters, TemplatesError
from .message import Alert, render
from .outbox import CONFIRMATION, REMINDER, Delivery, DispatchReport, records
from .outgoing import Outgoing
from .periodic import DIGEST, POOL

PERIODIC = (POOL, DIGEST)  # deliveries about a distribution or a period, not a draw
Clock = Callable[[], datetime]
log = logging.getLogger("crswatch.dispatch")


@dataclass
class Chunk:
    """Deliveries claimed together, and their messages."""

    claimed: list[Delivery]
    claimed_at: float = 0.0  # time.monotonic() of the claim (its lease counts from then)
    outgoing: list[Outgoing] = field(default_factory=list)
    by_key: dict[str, Delivery] = field(default_factory=dict)
    report: DispatchReport = field(default_factory=DispatchReport)
    prepared: float = 0.0  # seconds to claim, read and render it


def take(store: Store, owner: str, clock: Clock, links: Links | None, kinds: tuple[str, ...], lease: float, due_by: datetime,
          contact: str, letters: Letters = DEFAULT) -> Chunk:  # fmt: skip
    """Claim the next chunk in a short write transaction, read what its messages need, render
    them outside any write (the results of the chunk being sent go on being stored meanwhile),
    then cancel the deliveries that have nobody to go to.  A failure gives the claim back."""
    started = time.perf_counter()
    chunk = Chunk([], time.monotonic())
    with store.write() as conn:
        chunk.claimed = claim(conn, clock(), owner, outbox.CHUNK, only_kinds=kinds, lease=lease, due_by=due_by)
    if not chunk.claimed:
        return chunk
    try:
        with store.read() as conn:
            keys = {(d.draw, d.revision, d.kind) for d in chunk.claimed if d.kind not in (CONFIRMATION, REMINDER)}
            announced = records(conn, keys)
            subscribers = find_many(conn, {d.subscriber for d in chunk.claimed if d.kind != CONFIRMATION})
        draws = {key: Draw.from_record(stored_draw(rec)) for key, rec in announced.items() if key[2] not in PERIODIC}
        periodic = {key: rec for key, rec in announced.items() if key[2] in PERIODIC}
        cancelled = prepare(chunk, draws, subscribers, links, contact, periodic, letters)
        if cancelled:
            with store.write() as conn:
                for delivery, reason in cancelled:
                    chunk.report.cancelled += cancel(conn, delivery, reason, owner)
    except BaseException:
        give_back(store, chunk.claimed, owner)
        raise
    chunk.prepared = time.perf_counter() - started
    return chunk


def give_back(store: Store, claimed: list[Delivery], owner: str) -> None:
    """Best effort: the lease returns them anyway, this only spares the wait."""
    try:
        with store.write() as conn:
            release(conn, [d.id for d in claimed], owner)
    except (StoreError, DBAPIError) as exc:
        log.warning(
            "dispatch: could not give back %d claims (they return when their lease ends): %s", len(claimed), exc
        )


class Ahead:
    """The next chunk, claimed and prepared in a thread of its own while this one is sent
    (`start`), or when it is asked for (`get`)."""

    def __init__(self, take: Callable[[], Chunk]):
        self.take = take
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.chunk: Chunk | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="ahead", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        try:
            self.chunk = self.take()
        except BaseException as exc:  # noqa: BLE001 - raised by `get`, in the dispatcher's thread
            self.error = exc

    def get(self) -> Chunk:
        self.start()
        assert self.thread is not None
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.chunk is not None
        return self.chunk

    def abandon(self, store: Store, owner: str) -> None:
        """The chunk being sent failed: a chunk taken ahead is given back, unsent."""
        if self.thread is None:
            return
        self.thread.join()
        if self.chunk is not None and self.chunk.claimed:
            give_back(store, self.chunk.claimed, owner)


def prepare(chunk: Chunk, draws: dict[tuple[str, int, str], Draw], subscribers: dict[str, Found], links: Links | None,
             contact: str = "", periodic: dict[tuple[str, int, str], dict[str, Any]] | None = None,
             letters: Letters = DEFAULT) -> list[tuple[Delivery, str]]:  # fmt: skip
    """Render the chunk's messages (into `chunk`); returns the deliveries to cancel, with why."""
    cancelled: list[tuple[Delivery, str]] = []
    for delivery in chunk.claimed:
        if delivery.kind == CONFIRMATION:
            payload = delivery.payload or {}
            if not payload.get("url"):
                cancelled.append((delivery, "nothing to send"))
                continue
            chunk.outgoing.append(
                Outgoing(delivery.id, payload["url"], payload["title"], payload["bodies"], delivered=delivery.accepted)
            )
            chunk.by_key[delivery.id] = delivery
            continue
        found = subscribers.get(delivery.subscriber)
        sub = found.subscriber if found else None
        channel = next((c for c in sub.channels if c.key == delivery.channel), None) if sub else None
        key = (delivery.draw, delivery.revision, delivery.kind)
        draw = draws.get(key)
        record = (periodic or {}).get(key) if delivery.kind in PERIODIC else None
        reason = _not_sent(delivery, sub, channel is not None, draw is not None or record is not None)
        if reason or sub is None or channel is None:
            cancelled.append((delivery, reason))
            continue
        title, bodies = _message(delivery, sub, draw, record, links, contact, letters)
        unsubscribe = links.for_subscriber(sub.id, sub.language)[1] if links else ""
        chunk.outgoing.append(
            Outgoing(delivery.id, channel.destination, title, bodies, unsubscribe, contact, delivered=delivery.accepted)
        )
        chunk.by_key[delivery.id] = delivery
    return cancelled


def _not_sent(delivery: Delivery, sub: Subscriber | None, has_channel: bool, has_subject: bool) -> str:
    """Why a delivery is cancelled rather than sent ("" when it is sent)."""
    if sub is None:
        return "unsubscribed"
    if not has_channel:
        return "channel removed"
    if not sub.active:
        return "paused"
    if delivery.kind == REMINDER:
        return "" if sub.wants_reminders else "reminders turned off"
    return "" if has_subject else "draw missing"  # the draw, distribution or period it is about


def _message(delivery: Delivery, sub: Subscriber, draw: Draw | None, record: dict[str, Any] | None, links: Links | None,
             contact: str, letters: Letters) -> tuple[str, dict[str, str]]:  # fmt: skip
    """The delivery's message; with crswatch's own HTML when the operator's template fails on
    these values (it passed the start-up check on sample ones): one bad template must not stop
    every alert."""
    try:
        return _rendered(delivery, sub, draw, record, links, contact, letters)
    except TemplatesError as exc:
        if letters is DEFAULT:
            raise
        log.warning("%s; crswatch's own template was used for delivery %s", exc, delivery.id)
        return _rendered(delivery, sub, draw, record, links, contact, DEFAULT)


def _rendered(delivery: Delivery, sub: Subscriber, draw: Draw | None, record: dict[str, Any] | None, links: Links | None,
              contact: str, letters: Letters) -> tuple[str, dict[str, str]]:  # fmt: skip
    if record is not None:  # a pool alert or a digest: what it says was fixed when it was planned
        from .periodic_text import render_digest, render_pool

        return (render_pool if delivery.kind == POOL else render_digest)(
            sub, delivery.payload or {}, record, links, contact, letters
        )
    if delivery.kind == REMINDER or draw is None:
        from .reminder_text import render_reminder

        return render_reminder(sub, delivery.payload or {}, links, contact, letters)
    scored = (delivery.payload or {}).get("score")  # a profile's score on the draw's date, as matched
    if scored is not None:
        sub = replace(sub, score=int(scored))
    alert = Alert(draw, sub, Verdict(delivery.verdict) if delivery.verdict else None, delivery.kind, delivery.previous,
                  from_profile=scored is not None)  # fmt: skip
    return render(alert, links, contact, letters)
