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
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError

from crswatch.store.errors import StoreError
from crswatch.store.sql import Store
from crswatch.subscribers.links import Links

from .chunk import Ahead, Chunk, take
from .claims import claimant, record, record_sent
from .claims import renew as renew_claims
from .outbox import Delivery, DispatchReport
from .outgoing import Result
from .policy import Policy
from .send import send_many
from .services import Services

Clock = Callable[[], datetime]
log = logging.getLogger("crswatch.dispatch")


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A chunk that takes longer than this to send has the next one claimed and rendered in the
#: background this long before it ends (at most a sixth of the lease ahead, so that claim is
#: still fresh when its turn comes): a rate-limited route (Telegram at 30 a second sends a chunk
#: in 34 s) never stands idle while the store is read and a thousand alerts are rendered.
AHEAD = 10.0


def dispatch(store: Store, policy: Policy, *, concurrency: int, services: Services, links: Links | None = None,
             clock: Clock = utcnow, kinds: tuple[str, ...] = (), contact: str = "") -> DispatchReport:  # fmt: skip
    """Send every due delivery (queued, and failed ones whose next try has come), chunk by chunk,
    through `services`: the caller's bot, pacers, templates and store (required: a forgotten one
    would send Telegram alerts nowhere; `Services()` says "no bot" out loud)."""
    report = DispatchReport()
    owner = claimant()
    # due_by: a failure retried "now" waits for the next dispatch, not this one's next chunk
    taker = partial(take, store, owner, clock, links, kinds, policy.lease, clock(), contact, services.letters)
    chunk = taker()
    while chunk.claimed:
        ahead = Ahead(taker)
        try:
            _send_chunk(store, policy, owner, clock, report, concurrency, chunk, ahead.start, services)
        except BaseException:
            ahead.abandon(store, owner)
            raise
        chunk = ahead.get()
    return report


def _send_chunk(store: Store, policy: Policy, owner: str, clock: Clock, report: DispatchReport, concurrency: int, chunk: Chunk,
                ahead: Callable[[], None], services: Services) -> None:  # fmt: skip
    report.add(chunk.report)  # the deliveries cancelled while it was prepared
    report.attempted += len(chunk.outgoing)
    started = time.perf_counter()
    lead = min(AHEAD, policy.lease / 6)
    with Results(store, policy, owner, clock, report, bound=concurrency, chunk=list(chunk.by_key), claimed_at=chunk.claimed_at,
                 ahead=(lead, ahead)) as results:  # fmt: skip
        send_many(
            chunk.outgoing,
            concurrency,
            lambda key, result: results.save(chunk.by_key[key], result),
            results.admit,
            services=services,
        )
    log.info(
        "dispatch: %d claimed, prepared in %.2f s, sent in %.2f s",
        len(chunk.claimed),
        chunk.prepared,
        time.perf_counter() - started,
    )


class Results:
    """Stores results as they come, and keeps the chunk's claim alive while it is sent.

    - At most `bound` messages are in flight, counting from the moment one is about to leave
      until its result is committed (`admit` takes a permit, the writer gives it back after the
      commit), so a kill re-sends at most that many.
    - When a result cannot be written (PostgreSQL restarting, SQLite locked past its busy
      timeout, a full disk), no further message leaves: `admit` waits while the writer retries
      the same results for `policy.store_retry` seconds.  If the store comes back, sending goes
      on; if not, the chunk stops (`admit` says no) and the check fails with the store's error.
      Either way, unrecorded messages never exceed the bound.
    - The lease: the chunk's unfinished rows are renewed every third of the lease, in the
      writer's transaction (renewing beats the alternatives: chunks bounded by lease × rate
      depend on a rate nobody knows in advance, and re-checking the claim before each message
      costs a round trip per message).  A message only leaves while the claim is known to hold
      for at least a third of the lease more, so a late renewal pauses sending instead of
      letting another host claim rows this one is still sending.  Should a renewal come so late
      that another sender took some rows over (a process stalled past its lease), this chunk
      stops: the rows it still holds lapse and are sent by whoever claims them next.
    - The next chunk: once this one has been sending for `ahead`'s lead and has about that long
      to go (judged by its pace so far), `ahead`'s start is called, once, to claim and render
      the next chunk in the background (`notifier.chunk.Ahead`).  That claim's lease counts from
      its own `claimed_at`, and its first renewal comes a third of the lease after it.
    One thread writes, a group of results per transaction; the senders only wait when the bound
    is reached or the store is failing."""

    def __init__(self, store: Store, policy: Policy, owner: str, clock: Clock, report: DispatchReport, bound: int,
                 chunk: list[str] = (), claimed_at: float | None = None,  # type: ignore[assignment]
                 ahead: tuple[float, Callable[[], None]] | None = None):  # fmt: skip
        self.store, self.policy, self.owner, self.clock, self.report = store, policy, owner, clock, report
        self.gate = threading.BoundedSemaphore(max(1, bound))
        self.queue: queue.Queue[tuple[Delivery, Result, datetime] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.chunk = set(chunk)  # rows of the chunk not recorded yet
        self.renew_every = policy.lease / 3
        self.claimed_at = time.monotonic() if claimed_at is None else claimed_at  # a chunk taken ahead waited since
        # monotonic time until which a message may start: the claim holds a third of the lease longer
        self.fresh_until = self.claimed_at + policy.lease - self.renew_every
        # (lead, start): start taking the next chunk when this one has sent for `lead` s and has about that long to go
        self.ahead, self.total, self.admitted, self.opened = ahead, len(self.chunk), 0, time.monotonic()
        self.writable, self.halted = True, False  # halted: nothing more leaves (results are still written)
        self.gave_up = False  # the store failed for longer than policy.store_retry: nothing more is written either
        self.state = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="results", daemon=True)

    def __enter__(self) -> Results:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error

    def admit(self) -> bool:
        """Before a message leaves: True to send it, False when nothing more may leave."""
        self.gate.acquire()
        with self.state:
            while not self.halted and not (self.writable and time.monotonic() < self.fresh_until):
                self.state.wait(0.1)
            if self.halted:
                self.gate.release()
                return False
            self.admitted += 1
        self._maybe_ahead()
        return True

    def _maybe_ahead(self) -> None:
        if self.ahead is None:
            return
        lead, start = self.ahead
        elapsed = time.monotonic() - self.opened
        if elapsed >= lead and (self.total - self.admitted) * elapsed / self.admitted <= lead:
            self.ahead = None
            start()

    def save(self, delivery: Delivery, result: Result) -> None:
        self.queue.put((delivery, result, self.clock()))

    def _run(self) -> None:
        next_renewal = self.claimed_at + self.renew_every
        done = False
        while not done:
            batch: list[tuple[Delivery, Result, datetime]] = []
            wait = None if self.halted or self.gave_up or not self.chunk else max(0.0, next_renewal - time.monotonic())
            try:
                item = self.queue.get(timeout=wait)
            except queue.Empty:
                pass  # nothing to record: time to renew the claim
            else:
                if item is None:
                    return
                batch.append(item)
                done = self._drain(batch)
            renew = bool(self.chunk) and not self.halted and time.monotonic() >= next_renewal
            started = time.monotonic()
            if not self.gave_up and (batch or renew) and self._write(batch, renew) and renew:
                next_renewal = started + self.renew_every
                with self.state:
                    self.fresh_until = started + self.policy.lease - self.renew_every
                    self.state.notify_all()
            for _ in batch:
                self.gate.release()

    def _drain(self, batch: list[tuple[Delivery, Result, datetime]]) -> bool:
        """Add every result waiting to `batch`; True when the end mark was among them."""
        while True:
            try:
                more = self.queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            batch.append(more)

    def _write(self, batch: list[tuple[Delivery, Result, datetime]], renew: bool) -> bool:
        """Record `batch` (and renew the claim), retrying while the store fails; False once it gave up."""
        deadline = time.monotonic() + self.policy.store_retry
        pause = 0.05
        while True:
            try:
                report, taken = DispatchReport(), False
                with self.store.write() as conn:
                    if batch:
                        report.sent += record_sent(conn, [d for d, r, _ in batch if r.ok], batch[-1][2], self.owner)
                    for delivery, result, at in batch:
                        if not result.ok:
                            report.count(
                                record(
                                    conn, delivery, False, result.error, at, self.policy, self.owner, result.accepted
                                )
                            )
                    if renew:  # the rows not finished yet: any of them no longer ours was taken over
                        unfinished = sorted(self.chunk - {d.id for d, _, _ in batch})
                        taken = renew_claims(conn, unfinished, self.clock(), self.owner, self.policy.lease) < len(
                            unfinished
                        )
            except (StoreError, DBAPIError) as exc:
                if time.monotonic() + pause > deadline:
                    self.gave_up = True
                    self._halt(
                        StoreError(f"{exc}; stopped sending: the deliveries not recorded go out with the next check")
                    )
                    return False
                with self.state:
                    self.writable = False  # nothing more leaves until this batch is stored
                log.warning("dispatch: cannot record %d results, retrying: %s", len(batch), exc)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            except BaseException as exc:  # noqa: BLE001 - a bug: stop sending, report it after the send
                self.gave_up = True
                self._halt(exc)
                return False
            self.report.add(report)
            self.chunk -= {d.id for d, _, _ in batch}
            with self.state:
                self.writable = True
                self.state.notify_all()
            if taken:
                log.warning("dispatch: the lease lapsed and another sender took over part of this chunk; it stops here")
                self._halt(None)
            return True

    def _halt(self, error: BaseException | None) -> None:
        with self.state:
            self.error, self.halted = error, True
            self.state.notify_all()
