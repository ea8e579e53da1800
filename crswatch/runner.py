"""`crswatch run`: the long-lived scheduler process (see `crswatch.schedule` for the design)."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from crswatch.draws.record import stamp
from crswatch.store import kv
from crswatch.store.draws import Database
from crswatch.store.errors import StoreBusy, StoreError
from crswatch.store.host import host_name
from crswatch.store.sql import Store

from .app import services_of
from .config import Config
from .cycle import cycle_lock, run_check
from .errors import Busy, CrswatchError
from .schedule import Plan, expected_interval, trigger_for
from .sending import send_operator
from .stopping import Stopping

log = logging.getLogger("crswatch.run")
SHUTDOWN_GRACE = 120.0  # seconds a cycle in progress may take to finish after SIGTERM


class Runner:
    def __init__(self, config: Config, database: Database, store: Store, plan: Plan, cron: str = "", bot: Any = None,
                 services: Any = None):  # fmt: skip
        self.config, self.database, self.store, self.plan, self.cron = config, database, store, plan, cron
        self.services = services or services_of(config, store)  # one for the process: its pacers outlive a check
        self.bot = bot  # the Telegram bot answering chats on this loop (`[telegram] chats = "run"`): start(), stop()
        self.current: asyncio.Task[Any] | None = None
        self.cycles = 0
        self.job: Any = None
        self.abandoned = False  # a cycle was cancelled on the way out

    async def serve(self, max_cycles: int | None = None, stopping: Stopping | None = None) -> int:
        """Run until SIGTERM/SIGINT (or `max_cycles`); returns the number of cycles run.

        The first signal lets the cycle in progress finish (up to SHUTDOWN_GRACE seconds), a
        fetch included; a second one cancels it at once.  Neither is recorded as a feed failure."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        if stopping is not None:
            stopping.steps = [stop.set, self.abandon]
            stopping.install()
        self.stop = stop
        self.max_cycles = max_cycles
        if self.bot is not None:
            await self.bot.start()  # a rejected token is said now, before any cycle
        scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        self.job = scheduler.add_job(
            self.tick, trigger_for(self.plan, self.cron), id="check", max_instances=1, coalesce=True,
            misfire_grace_time=None, next_run_time=datetime.now(UTC),
        )  # fmt: skip
        scheduler.start()
        log.info("crswatch run: started on %s (pid %d), %s", host_name(), os.getpid(), self.describe())
        try:
            await stop.wait()
        finally:
            if self.bot is not None:  # first: no chat is taken on while the cycle finishes
                try:
                    await self.bot.stop()
                except Exception as exc:  # noqa: BLE001 - the cycle still finishes; Telegram sends unconfirmed updates again
                    log.warning("crswatch run: the Telegram bot did not stop cleanly: %s", exc)
            # pause, not shut down, while the cycle finishes: APScheduler's shutdown cancels the
            # jobs it is running, and a cancelled crawl used to end "without a result", a false failure
            scheduler.pause()
            await self._finish_cycle()
            scheduler.shutdown(wait=False)
            self._heartbeat(None, stopped=True)
            log.info("crswatch run: stopped after %d cycle(s)", self.cycles)
        return self.cycles

    async def _finish_cycle(self) -> None:
        current = self.current
        if current is None or current.done():
            return
        log.info("crswatch run: stopping; waiting for the cycle in progress")
        try:
            await asyncio.wait_for(asyncio.shield(current), SHUTDOWN_GRACE)
        except TimeoutError:
            self.abandon()
        except asyncio.CancelledError:
            pass  # abandoned by a second signal
        if self.abandoned:
            log.info("crswatch run: abandoned the cycle in progress (the outbox keeps it safe)")

    def abandon(self) -> None:
        """A second signal: cancel the cycle in progress now (nothing of it is recorded as failed)."""
        self.stop.set()
        if self.current is not None and not self.current.done():
            self.abandoned = True  # APScheduler's wrapper swallows the cancellation: remember it here
            self.current.cancel()

    def describe(self) -> str:
        if self.cron:
            return f"cron {self.cron!r} (America/Toronto)"
        window = (
            "around the clock"
            if self.plan.window is None
            else "inside the draw window, " + f"every {self.plan.outside_every:g}s outside it"
        )
        return f"every {self.plan.every:g}s {window}"

    async def tick(self) -> None:
        self.current = asyncio.current_task()
        started = datetime.now(UTC)
        try:
            self._warn_if_missed(started)
            try:
                with cycle_lock(self.database, timeout=0.5):
                    self.store.recheck()
                    report = await run_check(self.config, self.database, self.store, services=self.services)
                line = report.summary()
                for held in report.held:
                    log.warning("round #%s held, not stored: %s", held.number or "?", held.reason)
            except (Busy, StoreBusy):
                line = "skipped: another crswatch check is running"
            except (CrswatchError, StoreError) as exc:
                line = f"failed: {exc}"
            except Exception as exc:  # noqa: BLE001 - one bad cycle never stops the process
                log.exception("cycle crashed")
                line = f"internal error: {type(exc).__name__}: {exc}"
            self.cycles += 1
            elapsed = (datetime.now(UTC) - started).total_seconds()
            log.info("cycle %d (%.1fs): %s", self.cycles, elapsed, line)
            self._heartbeat(self.job.next_run_time if self.job else None)
        finally:
            self.current = None
            if self.max_cycles and self.cycles >= self.max_cycles:
                self.stop.set()

    def _heartbeat(self, next_run: datetime | None, stopped: bool = False) -> None:
        try:
            with self.store.write() as conn:
                record = kv.get(conn, "run")
                record.update(
                    pid=os.getpid(), host=host_name(), heartbeat=stamp(datetime.now(UTC)),
                    next_run=stamp(next_run) if next_run else None, stopped=stopped,
                    schedule={"every": self.config.schedule.every, "outside_every": self.config.schedule.outside_every,
                              "window": self.config.schedule.window, "cron": self.cron},
                )  # fmt: skip
                kv.put(conn, "run", record)
        except (CrswatchError, StoreError) as exc:
            log.warning("could not record the scheduler's heartbeat: %s", exc)

    def _warn_if_missed(self, now: datetime) -> None:
        """Tell the operator once when no check has succeeded for 1.5x the expected interval."""
        if not self.config.alerts.operator:
            return
        with self.store.read() as conn:
            status, run = kv.get(conn, "status"), kv.get(conn, "run")
        last = status.get("last_success_at")
        if not last:
            return
        since = datetime.fromisoformat(last)
        overdue = (now - since).total_seconds() > 1.5 * expected_interval(self.plan, self.cron, since)
        if overdue and run.get("missed_warned") != last:
            age = timedelta(seconds=int((now - since).total_seconds()))
            send_operator(
                self.config,
                [("crswatch: missed checks", f"No check has succeeded for {age} (last success {last}).")],
                self.services,
            )
            with self.store.write() as conn:
                kv.put(conn, "run", {**kv.get(conn, "run"), "missed_warned": last})
