"""`crswatch check`: one cycle (fetch, store, alert) under the cycle lock, and what it says: the new
draws, a dry run's rehearsal of every alert, the summary, the held rounds (exit 9)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crswatch.draws.text import printable

from .. import errors
from ..app import App

if TYPE_CHECKING:
    from crswatch.notifier.outbox import Delivery

    from ..report import CycleReport


@click.command()
@click.option(
    "--source", metavar="URL", envvar="CRSWATCH_SOURCE", help="Feed URL (http, https or file) [env CRSWATCH_SOURCE]."
)
@click.option("--dry-run", is_flag=True, help="Fetch and match, print what would happen; store and send nothing.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another running check before giving up (exit 6).",
)
@click.option(
    "--accept-edit",
    "accept",
    multiple=True,
    metavar="NUMBER",
    help="Store IRCC's edit of this draw although it moves its date or stream, or the first copy of a draw listed twice (held otherwise; repeatable).",
)
@click.option(
    "--accept-new",
    multiple=True,
    metavar="NUMBER|all",
    help="Store and alert this new draw although it looks like a renumbering (too many new at once, or dated weeks before the newest); 'all' for every one (repeatable).",
)
@click.pass_obj
def check(
    app: App, source: str | None, dry_run: bool, wait: float, accept: tuple[str, ...], accept_new: tuple[str, ...]
) -> None:
    """Run one cycle: fetch the feed, store new and changed draws, alert subscribers.

    Exit 0 when the cycle ran; 3 when the feed could not be fetched, 4 when it was rejected,
    5 when the draws file cannot be written, 6 when another check is running, 9 when the rest
    was stored but some rounds are held (unreadable, implausible, an edit to look at, or new draws
    that look like a renumbering: listed on stderr, in `status` and to the operator).
    Made for cron.

    \b
    Example:
      crswatch check
      crswatch check --source file:///tmp/ee_rounds_123_en.json --dry-run
    """
    if source and "://" not in source:
        raise errors.UsageError(
            f"--source {source!r} is not a URL; for a file use file://{Path(source).expanduser().resolve()}"
        )
    report = _run_cycle(app, source, dry_run, wait, tuple(a.lstrip("#") for a in accept), accept_new)
    _tell(report, dry_run)
    if report.held:
        sys.exit(errors.HELD)


def _run_cycle(app: App, source: str | None, dry_run: bool, wait: float, accept: tuple[str, ...],
               accept_new: tuple[str, ...]) -> CycleReport:  # fmt: skip
    """The operator's warnings, then the cycle under the cycle lock; Ctrl-C/SIGTERM stops it."""
    from crswatch.scraper.crawl import run_reactor

    from ..cycle import cycle_lock, run_check
    from ..status import operator_warnings
    from ..stopping import CHECK_STOPPED, Stopping, canceller

    config = app.with_config(source=source)
    database = app.database
    store = app.store  # a store that cannot be used is said before anything is made beside the draws (the cycle lock)
    stopping = Stopping([], farewell=CHECK_STOPPED)

    async def cycle() -> CycleReport:
        stopping.steps = [canceller(asyncio.current_task())]  # Ctrl-C/SIGTERM: the cycle stops where it is
        stopping.install()
        return await run_check(
            config, database, store, dry_run=dry_run, accept=accept, accept_new=accept_new, services=app.services
        )

    with store.read() as conn:
        for warning in operator_warnings(conn, config):
            click.echo(f"crswatch: warning: {warning}", err=True)
    with cycle_lock(database, timeout=wait):
        try:
            return run_reactor(cycle)
        except asyncio.CancelledError:
            raise stopping.error(CHECK_STOPPED) from None


def _tell(report: CycleReport, dry_run: bool) -> None:
    """What the cycle did: the new draws, a dry run's alerts and the summary on stdout, the held
    rounds on stderr."""
    from crswatch.notifier.mask import scrub

    for draw in [d for d in report.new_draws if d.number not in report.known][-20:] if not report.first_run else []:
        click.echo(
            printable(
                f"new draw #{draw.number} {draw.date} {draw.program}: {draw.invitations:,} invitations, CRS {draw.crs}"
            )
        )
    if dry_run:
        for delivery in report.planned:
            click.echo(f"would alert {delivery.subscriber} via {scrub(delivery.masked)}: {rehearsed(delivery)}")
    click.echo(report.summary())
    for held in report.held:
        what = f"round #{held.number} held" if held.number else "held" if held.position < 0 else "round #? held"
        click.echo(printable(f"crswatch: error: {what}, not stored: {held.reason}"), err=True)


def rehearsed(delivery: Delivery) -> str:
    """What a dry run says a delivery would be: a draw's alert with its verdict, a pool alert, a
    digest or a reminder."""
    from crswatch.notifier.outbox import REMINDER
    from crswatch.notifier.periodic import DIGEST, POOL

    payload = delivery.payload or {}
    if delivery.kind == POOL:
        return (
            f"pool distribution of {delivery.draw}: about {payload.get('count', 0):,} at or above {payload.get('band')}"
        )
    if delivery.kind == DIGEST:
        cadence = "daily" if delivery.draw.startswith("d") else "weekly"
        return f"{cadence} digest ending {delivery.draw[1:]}: {len(payload.get('draws', []))} draws"
    if delivery.kind == REMINDER:
        return f"reminder: {payload.get('reminder', '').replace('_', ' ')} on {payload.get('on')}"
    verdict = (delivery.verdict or "range withdrawn").replace("_", " ")
    return f"#{delivery.draw} {delivery.kind}: {verdict}"


COMMANDS = (check,)
