"""The draws commands: `check` (one cycle), `draws`, `draws show` and `streams`."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from draws.record import SUB_BANDS
from draws.text import printable
from history.answers import DRAW_KEYS

from .. import errors
from ..app import App
from .common import check_order, parse_day, stream_option
from .output import emit, format_option

if TYPE_CHECKING:
    from notifier.outbox import Delivery

    from ..cycle import CycleReport

DRAW_COLUMNS = ("number", "date", "stream", "program", "invitations", "crs", "tie_break")


# ------------------------------------------------------------------------------------- check


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
    from scraper.crawl import run_reactor

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
    from notifier.mask import scrub

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


@click.group(invoke_without_command=True)
@stream_option()
@click.option("--since", callback=parse_day, metavar="DATE", help="Draws on or after this date (YYYY-MM-DD).")
@click.option("--until", callback=parse_day, metavar="DATE", help="Draws on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many draws.")
@format_option
@click.pass_context
def draws(
    ctx: click.Context, streams: tuple[str, ...], since: date | None, until: date | None, limit: int | None, fmt: str
) -> None:
    """List stored draws, newest first.

    \b
    Examples:
      crswatch draws --limit 5
      crswatch draws --stream cec --since 2025-01-01 --format csv
      crswatch draws show 392
    """
    if ctx.invoked_subcommand is not None:
        return
    from history.answers import draw_list

    app: App = ctx.obj
    check_order(since, until)
    with app.database.reader() as view:
        rows = draw_list(view, streams, since, until, limit)  # what GET /api/draws answers too
        if not rows and not draw_list(view, limit=1) and fmt == "table":
            click.echo("no draws are stored yet: run `crswatch check` first", err=True)
    emit(rows, DRAW_COLUMNS if fmt == "table" else DRAW_KEYS, fmt)


@draws.command("show")
@click.argument("number")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format."
)
@click.pass_obj
def draws_show(app: App, number: str, fmt: str) -> None:
    """Show one draw with everything stored about it, pool distribution included.

    \b
    Example:
      crswatch draws show 392
      crswatch draws show 91a --format json
    """
    import json

    from history.answers import draw_detail

    with app.database.reader() as view:
        record = draw_detail(view, number)
    if record is None:
        raise errors.UsageError(f"no draw numbered {number!r} is stored (try: crswatch draws --limit 5)")
    if fmt == "json":
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    revisions = record["revisions"]
    fields = [
        ("Draw", f"#{record['number']}"),
        ("Date", record["date"]),
        ("Drawn at", record.get("drawn_at") or "-"),
        ("Program", record["program"]),
        ("Stream", record["stream"]),
        ("Invitations", f"{record['invitations']:,}"),
        ("CRS cut-off", record["crs"]),
        ("Tie-break", record.get("tie_break") or "-"),
        ("Eligible", ", ".join(record.get("eligible_programs") or []) or "-"),
        ("Link", record.get("url") or "-"),
        ("First seen", record.get("first_seen") or "-"),
        ("Revisions", len(revisions)),
    ]
    for label, value in fields:
        click.echo(f"{label + ':':<13}{printable(value)}")
    pool = record.get("pool")
    if pool:
        click.echo(f"\nPool distribution as of {record.get('pool_as_of') or '?'}:")
        for band, count in pool.items():
            indent = "    " if band in SUB_BANDS else "  "
            click.echo(f"{indent}{band:<10}{count:>10,}")
    else:
        click.echo("\nPool distribution: not published with this draw")


@click.command("streams")
@click.option(
    "--noc",
    metavar="CODE",
    help="Only the categories this NOC 2021 occupation code (5 digits) qualifies for, on IRCC's lists in force today.",
)
@click.option(
    "--on",
    "on",
    callback=parse_day,
    metavar="DATE",
    help="With --noc: the lists in force on this day (YYYY-MM-DD) [default: today in Ottawa].",
)
@format_option
@click.pass_obj
def streams_command(app: App, noc: str | None, on: date | None, fmt: str) -> None:
    """List the stream codes: their labels, the draw names seen for each (with counts and the last
    date), and the names waiting in `other` with their draw numbers.

    A name in `other` is one crswatch does not know.  Teach it in the configuration file
    (`[streams]`, see the README); the next check re-classifies its draws and sends late alerts.

    With --noc, the categories whose occupation list holds the code (IRCC's lists as dated data,
    `[occupations]` in the configuration replacing a list), and the lists that could not be
    confirmed; a code on no list is answered too.

    \b
    Examples:
      crswatch streams
      crswatch streams --format json
      crswatch streams --noc 31102
    """
    from history.answers import stream_list

    if noc is not None:
        _occupation(app, noc, on, fmt)
        return
    if on is not None:
        raise errors.UsageError("--on goes with --noc (the occupation lists of that day)")

    with app.database.reader() as view:
        rows = stream_list(view, app.config.streams.labels)
    if fmt == "json":
        emit(rows, ("code", "label", "draws", "last", "names"), fmt)
        return
    flat = [
        {"code": row["code"], "label": row["label"], "name": name["name"], "draws": name["draws"], "last": name["last"],
         "numbers": " ".join(name.get("numbers", []))}
        for row in rows for name in row["names"] or [{"name": "", "draws": 0, "last": None}]
    ]  # fmt: skip
    columns = ("code", "label", "name", "draws", "last", "numbers")
    emit(flat, columns if fmt == "csv" or any(r["numbers"] for r in flat) else columns[:-1], fmt)


COMMANDS = (check, draws, streams_command)


def _occupation(app: App, noc: str, on: date | None, fmt: str) -> None:
    """`streams --noc`: a table of the categories (when there are any) and what the lists are."""
    from ..occupations import lookup, rows, summary

    found = lookup(app.config, noc, on)
    listed = rows(app.config, found)
    if fmt == "json":
        import json

        version = found.match.version
        click.echo(json.dumps({"noc": found.match.noc, "since": version.since.isoformat(), "title": version.title, "categories": listed,
                               "unconfirmed": list(found.match.unconfirmed)}, indent=2, ensure_ascii=False))  # fmt: skip
        return
    if listed or fmt == "csv":
        emit(listed, ("code", "label", "list"), fmt)
    if fmt == "table":
        click.echo(("\n" if listed else "") + "\n".join(summary(found)))


def rehearsed(delivery: Delivery) -> str:
    """What a dry run says a delivery would be: a draw's alert with its verdict, a pool alert, a
    digest or a reminder."""
    from notifier.outbox import REMINDER
    from notifier.periodic import DIGEST, POOL

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
