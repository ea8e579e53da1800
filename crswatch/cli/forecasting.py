"""Forecasting commands: forecast (the next draw per stream, and a score's chance) and backtest
(how the forecasts would have done on the history)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from .. import errors
from ..app import App
from .common import profile_option, stream_option
from .history import profile_scorer, since_option, stored_records
from .output import emit, format_option


@click.command()
@stream_option()
@click.option("--score", type=click.IntRange(0, 1200), help="Estimate the chance that this score is invited.")
@profile_option(
    "A CRS profile (TOML or JSON; see `crswatch crs`) instead of --score: its projected score on each forecast draw's date."
)
@click.option(
    "--draws",
    "draws",
    type=click.IntRange(1, 50),
    default=1,
    show_default=True,
    help="Within the next K draws of each stream.",
)
@click.option(
    "--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True, help="Output format."
)
@click.pass_obj
def forecast(app: App, streams: tuple[str, ...], score: int | None, profile_file: Any, draws: int, fmt: str) -> None:
    """Estimate each stream's next cut-off (80% interval), next draw date and your chances.

    An estimate from the stream's own history only (see `crswatch backtest` for how good it has
    been): the method, the interval from its past errors, the date from the stream's gaps.

    \b
    Examples:
      crswatch forecast --stream cec --score 505 --draws 3
      crswatch forecast --profile me.toml --stream cec --draws 3
      crswatch forecast --format json
    """
    from crswatch.draws.record import ottawa_today
    from crswatch.history.answers import NoAnswer, forecast_rows
    from crswatch.history.stats import oldest_first

    if score is not None and profile_file is not None:
        raise errors.UsageError("give --score or --profile, not both")
    score_on = _projected(profile_scorer(app, profile_file)) if profile_file is not None else None
    try:
        rows = forecast_rows(oldest_first(stored_records(app)), streams, score, draws, ottawa_today(), score_on)
    except NoAnswer as exc:
        raise errors.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    _forecast_table(app, rows, streams, score, score_on, draws)


def _forecast_table(app: App, rows: list[dict[str, Any]], streams: tuple[str, ...], score: int | None, score_on: Any,
                    draws: int) -> None:  # fmt: skip
    """`forecast`'s table, then what its columns mean."""
    yours = app.config.subscribers.streams
    others = not streams and any(row["stream"] not in (*yours, "general") for row in rows)
    for row in rows:
        if row.pop("overdue"):
            row["next_date"] = f"overdue since {row['next_date']}"
        if others and row["stream"] not in (*yours, "general"):
            row["stream"] += " *"  # not one of the candidate's streams: said, not hidden
        if (score is not None or score_on) and row["p_invited"] is None:
            row["p_invited"] = "too little history"
    scored = score is not None or score_on is not None
    columns = (
        ("stream", "next_crs", "low", "high", "next_date", "method", "draws_used")
        + (("score",) if score_on else ())
        + (("p_invited",) if scored else ())
    )
    emit(rows, columns, "table")
    if others:
        click.echo(f"\n* not among your streams (subscribers.streams: {' '.join(yours)}); choose yours with --stream.")
    click.echo(
        "\nAn estimate, not a promise: next_crs is the method's forecast of the next cut-off (ewm: weighted recent level,"
    )
    click.echo(
        "+size/+pool: adjusted for the last draw's size or the pool's change above the cut-off; last: the last cut-off,"
    )
    click.echo("where no method beat it in the backtest), low-high its 80% interval from past errors,")
    plural = "s" if draws != 1 else ""
    if score_on:
        click.echo(
            "next_date the last draw plus the stream's median gap, score your profile's projected score on that date (from today if overdue),"
        )
        click.echo(
            f"p_invited the chance of a cut-off at or below your score on each of the next {draws} draw{plural}' dates."
        )
    else:
        click.echo(
            "next_date the last draw plus the stream's median gap"
            + (
                f", p_invited the chance of a cut-off at or below {score} within {draws} draw{plural}."
                if score is not None
                else "."
            )
        )


def _projected(score_on: Any) -> Any:
    """A profile's score on a forecast date; a day it cannot be scored on is an error, never a 0."""

    def projected(day: date) -> int:
        found = score_on(day)
        if found is None:
            raise errors.UsageError(
                f"the profile cannot be scored on {day} (a day before the date of birth, or before the oldest CRS grid)"
            )
        return int(found)

    return projected


@click.command()
@stream_option()
@since_option
@format_option
@click.pass_obj
def backtest(app: App, streams: tuple[str, ...], since: date | None, fmt: str) -> None:
    """Walk forward through history: forecast every draw from the draws before it only.

    Per stream: mean absolute error of the method beside two baselines (last cut-off; mean of the
    last 5), coverage of the 80% interval, Brier score of the invited-probability at a few
    reference scores, and which method ships.

    \b
    Examples:
      crswatch backtest --stream cec --stream pnp --stream french --stream healthcare
      crswatch backtest --since 2023-01-01 --format csv
    """
    from crswatch.history.answers import NoAnswer, series
    from crswatch.history.forecast import backtest as compute
    from crswatch.history.stats import oldest_first

    try:
        found = series(oldest_first(stored_records(app)), streams)
    except NoAnswer as exc:
        raise errors.UsageError(str(exc)) from None
    rows = []
    for stream, (dates, cutoffs, features) in found.items():
        result = compute(stream, dates, cutoffs, since, features)
        if result is not None:
            rows.append(result.to_dict())
    if not rows:
        raise errors.UsageError("not enough draws to backtest (a stream needs at least 8)")
    rows.sort(key=lambda r: -r["forecasts"])
    columns = ("stream", "forecasts", "mae_method", "mae_last", "mae_mean5", "mae_size", "mae_pool", "coverage_80", "brier_method", "brier_last",
               "reference_scores", "shipped")  # fmt: skip
    emit(rows, columns, fmt)
    if fmt == "table":
        click.echo(
            "\nmae_*: mean absolute error in CRS points of the next cut-off (method = ewm; size/pool = ewm adjusted for the last"
        )
        click.echo("draw's size / the pool's change above the cut-off; baselines: last cut-off, mean of last 5).")
        click.echo(
            "coverage_80 should be near 0.80; brier (0 best) scores the invited-probability at the reference scores."
        )
        click.echo(
            "shipped: the method `forecast` uses on that stream (the best of ewm, ewm+size, ewm+pool, only where it beats the last cut-off)."
        )


COMMANDS = (forecast, backtest)
