"""The serve process's confirmation sender: a thread that sends the confirmation messages the
pages queued in the store's outbox, like any alert (retried with backoff, dead-lettered, listed by
`crswatch deliveries`).  A message still queued when `serve` stops is sent by the next `serve` or
`check`: nothing is lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

# imported here, in the thread that starts the sender, not in the sender's thread: a serve stopped
# at once must not find that thread in the middle of an import
from crswatch.notifier.dispatch import dispatch
from crswatch.notifier.outbox import CONFIRMATION
from crswatch.notifier.policy import Policy
from crswatch.notifier.services import Services
from crswatch.store.sql import Store

log = logging.getLogger(__name__)

POLL = 5.0  # seconds between looks for due retries when no sign-up wakes the sender


class ConfirmationSender:
    def __init__(self, store: Store | Callable[[], Store], policy: Policy, concurrency: int = 4,
                 services: Services | Callable[[], Services] | None = None):  # fmt: skip
        self._store, self.policy, self.concurrency = store, policy, concurrency  # the store, or a function giving it
        # the app's services, or a function giving them (like the store): its pacers outlive a dispatch
        self._services: Services | Callable[[], Services] = services or Services()
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="confirmations", daemon=True)

    def start(self) -> ConfirmationSender:
        self.thread.start()
        return self

    def stop(self, wait: float = 0.0) -> None:
        """No new round starts; with `wait`, give the round under way that long to record what it
        sent (a message sent but not recorded would be sent again by the next serve)."""
        self.stopped.set()
        self.wake.set()
        if wait and self.thread.is_alive():
            self.thread.join(wait)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.wake.wait(POLL)
            self.wake.clear()
            try:
                store = self._store() if callable(self._store) else self._store
                services = self._services() if callable(self._services) else self._services
                report = dispatch(
                    store, self.policy, concurrency=self.concurrency, kinds=(CONFIRMATION,), services=services
                )
                if report.sent:  # their links were erased from the outbox: from the SQLite write-ahead log too
                    store.checkpoint()
                if report.failed or report.dead:
                    log.warning(
                        "confirmations: %d sent, %d failed (will retry), %d dead",
                        report.sent,
                        report.failed,
                        len(report.dead),
                    )
            except Exception as exc:  # noqa: BLE001 - the outbox keeps them; the next round tries again
                log.warning("confirmations could not be sent now: %s", exc)
