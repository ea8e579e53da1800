"""What several commands share: the stream option, dates and their order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click

from .. import errors
from ..app import App

F = TypeVar("F", bound=Callable[..., Any])  # a command's function, as click's own decorators type it


def check_order(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise errors.UsageError(f"--since {since} is after --until {until}")


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _known_streams(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Stream codes are the built-in ones plus those `[streams]` in the configuration adds."""
    app = ctx.find_object(App)
    assert app is not None  # made by the main group before any option of a command is read
    labels = app.config.streams.labels
    for value in values:
        if value not in labels:
            raise click.BadParameter(
                f"{value!r} is not a stream code; valid: {', '.join(labels)} (see: crswatch streams)"
            )
    return values


def profile_option(help_text: str, required: bool = False) -> Callable[[F], F]:
    """`--profile FILE`: a CRS profile, TOML or JSON (`-` for standard input), read as UTF-8."""
    return click.option(
        "--profile",
        "profile_file",
        required=required,
        type=click.File("r", encoding="utf-8"),
        metavar="FILE",
        help=help_text,
    )


def stream_option(help_text: str = "Only this stream (repeatable; codes: crswatch streams).") -> Callable[[F], F]:
    return click.option("--stream", "streams", multiple=True, metavar="CODE", callback=_known_streams, help=help_text)
