"""History commands: stats, whatif, pool, chart — the same filters everywhere."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from crswatch.draws.record import SUB_BANDS

from .. import errors
from ..app import App
from .common import check_order, parse_day, profile_option, stream_option
from .output import emit, format_option

since_option = click.option(
    "--since", callback=parse_day, metavar="DATE", help="Only draws on or after this date (YYYY-MM-DD)."
)
until_option = click.option(
    "--until", callback=parse_day, metavar="DATE", help="Only draws on or before this date (YYYY-MM-DD)."
)


def today_of(app: App) -> date:
    """Today in Ottawa, or the newest stored draw's date when that is later (a feed from the future in tests)."""
    from crswatch.draws.record import ottawa_today
    from crswatch.draws.table import query_draws

    with app.database.reader() as view:
        newest = query_draws(view, limit=1)
    today = ottawa_today()
    latest = date.fromisoformat(newest[0]["date"]) if newest else today
    return max(today, latest)


def stored_records(
    app: App, streams: tuple[str, ...] = (), since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    from crswatch.draws.table import query_draws

    check_order(since, until)
    with app.database.reader() as view:
        records = query_draws(view, streams, since, until)
        empty = not records and not query_draws(view, limit=1)
    if empty:
        raise errors.UsageError("no draws are stored yet: run `crswatch check` first")
    if not records:
        raise errors.UsageError("no stored draws match (widen --stream, --since or --until)")
    return records


@click.command()
@stream_option()
@since_option
@until_option
@click.option(
    "--ytd",
    is_flag=True,
    help="Only the year to date: invitations this year per stream and in all, beside the levels plan's admissions targets.",
)
@click.option(
    "--on",
    "on",
    callback=parse_day,
    metavar="DATE",
    help="The day the year to date runs to (YYYY-MM-DD) [default: today in Ottawa].",
)
@format_option
@click.pass_obj
def stats(
    app: App, streams: tuple[str, ...], since: date | None, until: date | None, ytd: bool, on: date | None, fmt: str
) -> None:
    """Per stream: draws, the last one, min/median/max cut-off, invitations, gaps and the trend;
    then (in a table) the year to date: invitations issued this year, per stream and in all, beside
    IRCC's Immigration Levels Plan admissions targets for the year (a target is not invitations).

    Streams are never mixed into one average.  The year to date counts every stream, whatever
    --stream/--since/--until say; --ytd prints only it (--format json: one object).

    \b
    Examples:
      crswatch stats
      crswatch stats --stream cec --stream french --since 2025-01-01 --format json
      crswatch stats --ytd --on 2026-01-21
    """
    from crswatch.history.stats import stats as compute

    if not ytd:
        rows = compute(stored_records(app, streams, since, until))
        columns = ("stream", "draws", "last_date", "last_crs", "last_invitations", "min_crs", "median_crs", "max_crs",
                   "invitations", "avg_gap_days", "trend_per_draw", "trend")  # fmt: skip
        emit(rows, columns, fmt)
        if fmt != "table":
            return
        click.echo()
    _year_to_date(app, on, fmt)


def _year_to_date(app: App, on: date | None, fmt: str) -> None:
    from crswatch.draws.record import ottawa_today
    from crswatch.draws.table import query_draws
    from crswatch.history.ytd import year_to_date

    with app.database.reader() as view:
        result = year_to_date(query_draws(view), on or ottawa_today())
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if fmt == "table":
        click.echo("\n".join(result.lines()[:1]))
    emit(result.rows, ("stream", "draws", "invitations", "plan_group"), fmt)
    if fmt == "table":
        click.echo("\n".join(result.lines()[1:]))


@click.command()
@click.option("--score", type=click.IntRange(0, 1200), help="The CRS score to try (or --profile).")
@profile_option(
    "A CRS profile (TOML or JSON; see `crswatch crs`): each draw is judged on the profile's score on its date."
)
@stream_option("A stream the candidate is eligible for (repeatable) [default: cec fsw fst].")
@click.option("--profile-created", metavar="DATETIME", help="Profile submission time (ISO 8601), for tie-breaks.")
@click.option(
    "--within", type=click.IntRange(0, 200), help="Call a miss by at most this many points 'close' [default 10]."
)
@since_option
@until_option
@format_option
@click.pass_obj
def whatif(app: App, score: int | None, profile_file: Any, streams: tuple[str, ...], profile_created: str | None, within: int | None,
           since: date | None, until: date | None, fmt: str) -> None:  # fmt: skip
    """The verdict every past draw open to a candidate would have given them, and a summary.

    \b
    Examples:
      crswatch whatif --score 510 --stream cec --since 2025-01-01
      crswatch whatif --score 495 --stream cec --stream french --profile-created 2025-03-01 --format csv
      crswatch whatif --profile me.toml --stream cec
    """
    from crswatch.history.stats import whatif as compute
    from crswatch.subscribers import validate

    if (score is None) == (profile_file is None):
        raise errors.UsageError("give --score or --profile (one of them)")
    score_on = profile_scorer(app, profile_file) if profile_file is not None else None

    try:
        created = validate.profile_created(profile_created)
    except validate.Problem as exc:
        raise errors.UsageError(str(exc)) from None
    chosen = streams or app.config.subscribers.streams
    if since is None and until is None:  # a window that means something today: the last two years
        since = today_of(app) - timedelta(days=730)
    result = compute(stored_records(app, (), since, until), score=score, streams=chosen, profile_created=created,
                     within=app.config.subscribers.within if within is None else within, since=since, score_on=score_on)  # fmt: skip
    emit(result.rows, ("number", "date", "stream", "program", "crs", *(("score",) if score_on else ()), "verdict"), fmt)
    if fmt == "table":
        click.echo(f"\n{result.summary}")


def profile_scorer(app: App, file: Any) -> Any:
    """A profile's score on a day (None before the oldest CRS grid); a bad profile is exit 2, one line a problem."""
    import sys

    from crswatch.draws.crs import ProfileError, RulesError, read, score

    try:
        profile = read(file.read(), "standard input" if file.name == "<stdin>" else file.name)
    except ProfileError as exc:
        for problem in exc.problems:
            click.echo(f"crswatch: error: {problem}", err=True)
        sys.exit(errors.USAGE)
    rules = app.crs_rules

    def score_on(day: date) -> int | None:
        try:
            return score(profile, day, rules).total
        except (RulesError, ProfileError):
            return None

    return score_on


@click.command()
@click.argument("number", required=False)
@click.option("--score", type=click.IntRange(0, 1200), help="Count the candidates at or above this score's band.")
@format_option
@click.pass_obj
def pool(app: App, number: str | None, score: int | None, fmt: str) -> None:
    """The CRS score distribution of the pool published with a draw (default: the newest).

    \b
    Examples:
      crswatch pool
      crswatch pool 392 --score 505
    """
    from crswatch.history.stats import oldest_first, pool_rows

    published = [r for r in oldest_first(stored_records(app)) if r.get("pool")]
    if number is not None:
        index = next((i for i, r in enumerate(published) if r["number"] == number.lstrip("#")), None)
        if index is None:
            raise errors.UsageError(f"no stored draw numbered {number!r} has a published pool distribution")
    elif published:
        index = len(published) - 1
    else:
        raise errors.UsageError("no stored draw has a published pool distribution")
    record = published[index]
    previous = next((r for r in reversed(published[:index]) if r.get("pool_as_of") != record.get("pool_as_of")), None)
    rows, line = pool_rows(record, previous, score)
    if fmt == "table":
        since = f"; change since {previous.get('pool_as_of')} (draw #{previous['number']})" if previous else ""
        click.echo(
            f"Pool distribution published with draw #{record['number']} ({record['date']}), as of {record.get('pool_as_of')}{since}:"
        )
        rows = [
            {**row, "band": ("  " if row["band"] in SUB_BANDS else "") + row["band"]} for row in rows
        ]  # sub-bands indented
    emit(rows, ("band", "candidates", "change"), fmt)
    if line and fmt == "table":
        click.echo(f"\n{line}")


@click.command()
@stream_option()
@since_option
@until_option
@click.option("--score", type=click.IntRange(0, 1200), help="Draw a horizontal line at this score.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a chart to FILE.png or FILE.svg; without it, a terminal summary.",
)
@click.pass_obj
def chart(
    app: App, streams: tuple[str, ...], since: date | None, until: date | None, score: int | None, output: Path | None
) -> None:
    """Cut-offs over time, one line per stream, invitations as marker size.

    \b
    Examples:
      crswatch chart --stream cec --stream pnp --since 2024-01-01 --score 505 -o cutoffs.png
      crswatch chart --stream cec --since 2025-01-01
    """
    from crswatch.history.stats import oldest_first, sparkline

    # the general draws are open to every candidate: `whatif --stream X` counts them, so X's chart shows them
    records = oldest_first(stored_records(app, (*streams, "general") if streams else (), since, until))
    if output is None:
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_stream.setdefault(record["stream"], []).append(record)
        width = max(len(s) for s in by_stream)
        for stream, draws in sorted(by_stream.items(), key=lambda item: -len(item[1])):
            recent = draws[-TERMINAL_DRAWS:]
            shown = (
                f"the last {len(recent)} of {len(draws)} draws" if len(recent) < len(draws) else f"{len(recent)} draws"
            )
            scale = [d["crs"] for d in recent] + ([score] if score is not None else [])
            click.echo(f"{stream:<{width}}  {sparkline([d['crs'] for d in recent], (min(scale), max(scale)))}  {recent[0]['crs']}→{recent[-1]['crs']} "
                       f"({shown}, {recent[0]['date']}..{recent[-1]['date']})")  # fmt: skip
            if score is not None:  # the --score line: a mark under each draw whose cut-off it reached
                reached = "".join("▔" if d["crs"] <= score else " " for d in recent)
                click.echo(
                    f"{'':<{width}}  {reached}  ▔ = cut-off at or below {score} ({sum(d['crs'] <= score for d in recent)} of {len(recent)})"
                )
        return
    if output.suffix.lower() not in (".png", ".svg"):
        raise errors.UsageError(f"{output}: the chart file must end in .png or .svg")
    from crswatch.history.chart import draw_chart

    try:
        draw_chart(records, output, score)
    except OSError as exc:
        raise errors.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} ({output.stat().st_size:,} bytes)")


TERMINAL_DRAWS = 40  # draws per stream in the terminal chart (it says when there were more)


COMMANDS = (stats, whatif, pool, chart)
