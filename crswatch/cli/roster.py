"""The list of subscribers: subscribers (listed, channels masked), pause, resume, unsubscribe, import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import errors
from ..app import App
from .output import emit, format_option
from .subscribers import check_channel, public_record

LIST_COLUMNS = (
    "id",
    "name",
    "status",
    "score",
    "within",
    "streams",
    "language",
    "cadence",
    "pool_alerts",
    "profile_created",
    "channels",
    "created_at",
)


@click.command("subscribers")
@format_option
@click.pass_obj
def list_subscribers(app: App, fmt: str) -> None:
    """List subscribers; channel URLs are always masked.

    \b
    Examples:
      crswatch subscribers
      crswatch subscribers --format csv > subscribers.csv
    """
    from crswatch.subscribers.store import iter_all

    with app.read_store.read() as view:
        emit((_listed(public_record(s), fmt) for s in iter_all(view)), LIST_COLUMNS, fmt)


def _listed(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    """In a table or CSV, a profile subscriber's score reads "499 from profile" (the score on the
    day the profile was last given; each draw is matched on its own date)."""
    if fmt != "json" and record.pop("from_profile"):
        record["score"] = f"{record['score']} from profile"
    if fmt != "json":
        record["pool_alerts"] = "yes" if record["pool_alerts"] else "no"
    return record


def _status_command(active: bool) -> click.Command:
    verb = "resume" if active else "pause"

    @click.command(
        verb,
        help=f"{verb.capitalize()} alerts for a subscriber (by id or token).\n\n\b\nExample:\n  crswatch {verb} k7fq2mxa",
    )
    @click.argument("subscriber")
    @click.pass_obj
    def command(app: App, subscriber: str) -> None:
        from crswatch.subscribers.manage import set_status

        with app.store.write() as tx:
            sub = set_status(tx, subscriber, active)
        click.echo(f"{sub.id} is {sub.status}")

    return command


@click.command()
@click.argument("subscriber")
@click.pass_obj
def unsubscribe(app: App, subscriber: str) -> None:
    """Remove a subscriber and their channels, by id or by the token shown at subscribe.

    Subscribers of the web page unsubscribe themselves from the link in every alert.

    \b
    Examples:
      crswatch unsubscribe k7fq2mxa
      crswatch unsubscribe k7fq2mxa.IQqoWfBZ7oiARMmIjYtpA1RJqwK7lYWJ
    """
    from crswatch.subscribers.manage import unsubscribe as do_unsubscribe

    with app.store.write() as tx:
        sub = do_unsubscribe(tx, subscriber)
    click.echo(f"unsubscribed {sub.id}")


@click.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE.csv")
@click.pass_obj
def import_(app: App, csv_file: Path) -> None:
    """Import subscribers from a CSV file, all or nothing.

    Columns (header row): name,score,within,streams,profile_created,channels; optional:
    language, profile, cadence (instant, daily, weekly), pool_alerts (yes/no).  Streams and
    channels are separated by spaces; an empty cell takes the default.  Every row is validated
    first: one bad row and nothing is imported (each bad row is reported with its line number).
    A row whose channel is already subscribed updates that subscriber.

    \b
    Example:
      crswatch import subscribers.csv
    """
    from crswatch.subscribers.importing import import_csv

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read {csv_file}: {exc}") from None
    with app.store.write() as tx:
        created, updated = import_csv(tx, text, check=check_channel, defaults=app.subscriber_defaults)
    click.echo(f"imported {created + updated} row(s): {created} new, {updated} updated")


COMMANDS = (list_subscribers, _status_command(False), _status_command(True), unsubscribe, import_)
