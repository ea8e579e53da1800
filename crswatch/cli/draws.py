"""The draws commands: `draws`, `draws show` and `streams` (`check` is in check.py)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from crswatch.draws.record import SUB_BANDS
from crswatch.draws.text import printable
from crswatch.history.answers import DRAW_KEYS

from .. import errors
from ..app import App
from .common import check_order, parse_day, stream_option
from .output import emit, format_option

if TYPE_CHECKING:
    pass

DRAW_COLUMNS = ("number", "date", "stream", "program", "invitations", "crs", "tie_break")


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
    from crswatch.history.answers import draw_list

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

    from crswatch.history.answers import draw_detail

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
    from crswatch.history.answers import stream_list

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


COMMANDS = (draws, streams_command)


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
