"""Subscriber commands: subscribe, subscribers, update, pause, resume, unsubscribe, import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from notifier.mask import scrub

from .. import errors
from ..app import App
from .output import emit, format_option

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
CADENCE_HELP = (
    "How often to hear from crswatch: instant (every alert at once), daily or weekly (one digest at [alerts] "
    "digest_hour; an invitation always goes out at once)."
)
POOL_HELP = (
    "Also tell me when IRCC publishes a new pool distribution: how many candidates are at or above my score's band."
)
STREAM_HELP = "A stream you are eligible for (repeatable): cec fsw fst pnp french healthcare stem trades transport agriculture education physicians managers military other."


def public_record(sub: Any, with_token: bool = False) -> dict[str, Any]:
    """A subscriber as shown to people: channels masked; the token (only known right after
    subscribing, stored hashed) only when asked for."""
    doc: dict[str, Any] = sub.to_doc()
    doc["channels"] = [scrub(c.masked) for c in sub.channels]  # stored forms of older releases kept header values
    doc.pop("token_hash")
    doc["from_profile"] = (
        doc.pop("profile") is not None
    )  # a profile is personal data: never listed, only that there is one
    doc.pop("profile_ceiling")
    doc["reminders"] = sub.wants_reminders
    if with_token and sub.token:
        doc["token"] = sub.token
    return doc


def _check(url: str) -> str:
    from notifier.channels import check_url

    return check_url(url)


PROFILE_HELP = "A CRS profile file (TOML or JSON; - for standard input; see `crswatch crs`): every verdict uses its score on the draw's date."


def _read_profile(file: Any) -> str | None:
    if file is None:
        return None
    try:
        return str(file.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read the profile {file.name}: {exc}") from None


@click.command()
@click.option("--score", metavar="N", help="Your CRS score (0-1200); or give --profile.")
@click.option("--profile", "profile_file", type=click.File("r", encoding="utf-8"), metavar="FILE", help=PROFILE_HELP)
@click.option(
    "--notify",
    "channels",
    multiple=True,
    required=True,
    metavar="URL",
    help="An apprise channel URL (repeatable): mailto://, slack://, twilio://, tgram://, ntfy://, json://, …",
)
@click.option(
    "--within",
    metavar="N",
    help="Also alert when the cut-off is at most N points above your score (0-200) [default 10].",
)
@click.option("--stream", "streams", multiple=True, metavar="S", help=STREAM_HELP + " [default: cec fsw fst]")
@click.option(
    "--profile-created",
    metavar="DATETIME",
    help="When your Express Entry profile was submitted (ISO 8601), for tie-breaks.",
)
@click.option("--name", metavar="TEXT", help="A name to recognise the subscriber by.")
@click.option("--language", metavar="LANG", help="The language of the alerts: en or fr [default en].")
@click.option(
    "--noc",
    metavar="CODE",
    help="Your occupation's NOC 2021 code (5 digits): adds the categories it qualifies for to the streams (the code is not stored).",
)
@click.option(
    "--reminders/--no-reminders",
    default=None,
    help="Reminders when the score is about to change (a birthday, a test expiring, a year of work, the profile expiring) [default: on with --profile].",
)
@click.option("--cadence", metavar="C", help=CADENCE_HELP + " [default instant]")
@click.option("--pool-alerts/--no-pool-alerts", "pool_alerts", default=None, help=POOL_HELP + " [default: no]")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format."
)
@click.pass_obj
def subscribe(app: App, score: str | None, profile_file: Any, channels: tuple[str, ...], within: str | None, streams: tuple[str, ...],
              profile_created: str | None, name: str | None, language: str | None, noc: str | None, reminders: bool | None,
              cadence: str | None, pool_alerts: bool | None,
              fmt: str) -> None:  # fmt: skip
    """Subscribe a CRS score, or a CRS profile, to draw alerts; prints the new subscriber's id.

    Subscribing a channel that is already subscribed updates that subscriber instead.  With
    --profile, every verdict uses the profile's score on the draw's date (age, experience and
    language results change with time); the profile is kept only in the SQL store.  A profile
    file is what `crswatch crs --profile` reads (see `crswatch crs --help`).

    \b
    Examples:
      crswatch subscribe --score 505 --notify 'mailto://me:app-password@gmail.com'
      crswatch subscribe --score 468 --stream french --language fr --notify 'mailto://me:app-password@gmail.com'
      crswatch subscribe --score 455 --noc 31102 --notify 'mailto://me:app-password@gmail.com'
      crswatch subscribe --score 481 --cadence weekly --pool-alerts --notify 'mailto://me:app-password@gmail.com'
      crswatch subscribe --score 472 --stream cec --stream french --within 20 \\
          --profile-created 2025-10-01T14:30:00Z \\
          --notify 'twilio://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef@15551234567/15557654321'
    """
    from subscribers.manage import subscribe as do_subscribe

    noc_line = ""
    if noc is not None:  # checked before anything is read or written; only the streams it adds are kept
        from ..occupations import added_line, lookup

        found = lookup(app.config, noc)
        chosen = streams or app.subscriber_defaults.streams
        added = tuple(c for c in found.streams if c not in chosen)
        streams, noc_line = (*chosen, *added), added_line(found, added)
    profile = _read_profile(profile_file)
    with app.store.write() as tx:
        sub, created = do_subscribe(
            tx, score=score, channels=channels, check=_check, defaults=app.subscriber_defaults,
            within=within, streams=streams, profile_created=profile_created, name=name, language=language, profile=profile,
            reminders=reminders, cadence=cadence, pool_alerts=pool_alerts,
        )  # fmt: skip
    if noc_line:
        click.echo(noc_line, err=True)
    if fmt == "json":
        import json

        click.echo(json.dumps(public_record(sub, with_token=True), indent=2, ensure_ascii=False))
    elif created:
        click.echo(sub.id)
        click.echo(
            f"subscribed: score {_score(sub)}, within {sub.within}, streams {' '.join(sub.streams)}; unsubscribe token: {sub.token}",
            err=True,
        )
    else:
        click.echo(sub.id)
        click.echo(
            f"already subscribed: updated {sub.id} (score {_score(sub)}, within {sub.within}, streams {' '.join(sub.streams)})",
            err=True,
        )


def _score(sub: Any) -> str:
    return f"{sub.score} from profile (today; each draw uses its own date)" if sub.profile else str(sub.score)


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
    from subscribers.store import iter_all

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


@click.command()
@click.argument("subscriber")
@click.option(
    "--score", metavar="N", help="New CRS score (0-1200); given alone, it replaces a profile (which is erased)."
)
@click.option(
    "--profile",
    "profile_file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="A new CRS profile file (TOML or JSON; - for standard input).",
)
@click.option("--within", metavar="N", help="New closeness margin (0-200).")
@click.option("--stream", "streams", multiple=True, metavar="S", help="Replace the streams (repeatable).")
@click.option("--notify", "channels", multiple=True, metavar="URL", help="Replace the channels (repeatable).")
@click.option("--profile-created", metavar="DATETIME", help="Profile submission time (ISO 8601).")
@click.option("--name", metavar="TEXT", help="New name.")
@click.option("--language", metavar="LANG", help="The language of the alerts: en or fr.")
@click.option(
    "--reminders/--no-reminders",
    default=None,
    help="Reminders when the score is about to change (a birthday, a test expiring, a year of work, the profile expiring) [default: on with --profile].",
)
@click.option("--cadence", metavar="C", help=CADENCE_HELP)
@click.option("--pool-alerts/--no-pool-alerts", "pool_alerts", default=None, help=POOL_HELP)
@click.pass_obj
def update(app: App, subscriber: str, score: str | None, profile_file: Any, within: str | None, streams: tuple[str, ...], channels: tuple[str, ...],
           profile_created: str | None, name: str | None, language: str | None, reminders: bool | None, cadence: str | None,
           pool_alerts: bool | None) -> None:  # fmt: skip
    """Change a subscriber (by id or token): score, margin, streams, channels, profile time.

    \b
    Examples:
      crswatch update k7fq2mxa --score 512
      crswatch update k7fq2mxa --stream cec --stream healthcare --within 15
      crswatch update k7fq2mxa --language fr
      crswatch update k7fq2mxa --cadence daily --pool-alerts
      crswatch update k7fq2mxa --profile me.toml
    """
    from subscribers.manage import update as do_update

    with app.store.write() as tx:
        sub = do_update(
            tx, subscriber, check=_check, score=score, within=within, streams=streams,
            channels=channels, profile_created=profile_created, name=name, language=language, choices=app.config.streams.subscribable,
            profile=_read_profile(profile_file), rules=app.crs_rules, reminders=reminders, cadence=cadence, pool_alerts=pool_alerts,
        )  # fmt: skip
    click.echo(
        f"updated {sub.id}: score {_score(sub)}, within {sub.within}, streams {' '.join(sub.streams)}, {len(sub.channels)} channel{'s' if len(sub.channels) != 1 else ''}"
    )


def _status_command(active: bool) -> click.Command:
    verb = "resume" if active else "pause"

    @click.command(
        verb,
        help=f"{verb.capitalize()} alerts for a subscriber (by id or token).\n\n\b\nExample:\n  crswatch {verb} k7fq2mxa",
    )
    @click.argument("subscriber")
    @click.pass_obj
    def command(app: App, subscriber: str) -> None:
        from subscribers.manage import set_status

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
    from subscribers.manage import unsubscribe as do_unsubscribe

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
    from subscribers.importing import import_csv

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read {csv_file}: {exc}") from None
    with app.store.write() as tx:
        created, updated = import_csv(tx, text, check=_check, defaults=app.subscriber_defaults)
    click.echo(f"imported {created + updated} row(s): {created} new, {updated} updated")


COMMANDS = (
    subscribe,
    list_subscribers,
    update,
    _status_command(False),
    _status_command(True),
    unsubscribe,
    import_,
)
