"""The serve process's two helpers: a thread that stores sign-ups in batches, and a process
that sends the confirmation messages."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from subscribers import optin

log = logging.getLogger(__name__)

GATHER = 0.5  # seconds a batch of confirmation messages gathers before it is sent


class ConfirmationSender:
    """Confirmation messages leave from a sender process: a sign-up answers at once, and building
    and sending e-mails does not take the request threads' CPU (or their GIL).  Messages still
    queued when the server is killed are lost; the page tells people to subscribe again then."""

    def __init__(self, concurrency: int = 2):
        context = multiprocessing.get_context("spawn")
        self.queue: Any = context.Queue()
        context.Process(target=_send_forever, args=(self.queue, concurrency, os.getpid()), name="crswatch-confirmations", daemon=True).start()

    def __call__(self, url: str, title: str, bodies: dict[str, str]) -> None:
        self.queue.put((url, title, bodies))


class PendingWriter:
    """Sign-ups are stored by one thread in batches (group commit): however many arrive at once,
    they cost one database lock and one write per touched file, and no thread waits on the lock."""

    def __init__(self, database: Any, ttl: timedelta):
        self.database, self.ttl = database, ttl
        self.queue: queue.Queue[tuple[optin.SignUp, Future[str]]] = queue.Queue()
        threading.Thread(target=self._work, name="crswatch-sign-ups", daemon=True).start()

    def start(self, sign_up: optin.SignUp) -> str:
        """Store one pending sign-up; its confirmation token once it is on disk."""
        done: Future[str] = Future()
        self.queue.put((sign_up, done))
        return done.result(timeout=60)

    def _work(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < 200:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.database.transaction(atomic=False) as tx:  # pending shards are independent
                    tokens = [optin.start(tx, sign_up, ttl=self.ttl) for sign_up, _ in batch]
            except Exception as exc:  # the requests waiting on this batch answer with the error
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), token in zip(batch, tokens, strict=True):
                done.set_result(token)


def _send_forever(messages: Any, concurrency: int, parent: int) -> None:
    """The sender process: send what arrives, in batches, until the server is gone.  A batch
    gathers for up to `GATHER` seconds: each SMTP session costs tens of milliseconds of CPU to
    set up, so a few sessions carrying many messages beat one session per sign-up."""
    from notifier.send import Outgoing as Message
    from notifier.mask import mask_url
    from notifier.send import send_many

    logging.basicConfig(level=logging.INFO, format="crswatch serve: %(message)s")
    while os.getppid() == parent:
        try:
            batch = [messages.get(timeout=1)]
        except queue.Empty:
            continue
        deadline = time.monotonic() + GATHER
        while len(batch) < 500 and (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(messages.get(timeout=left))
            except queue.Empty:
                break
        items = [Message(str(i), url, title, bodies) for i, (url, title, bodies) in enumerate(batch)]

        def report(key: str, result: Any, items: list[Message] = items) -> None:
            if not result.ok:
                log.warning("confirmation to %s failed: %s", mask_url(items[int(key)].url), result.error)

        try:
            send_many(items, concurrency, report)
        except Exception:  # one bad batch must not stop the sender
            log.exception("a batch of confirmations failed")
