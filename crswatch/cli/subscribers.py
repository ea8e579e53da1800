"""Subscriber commands: subscribe and update (a subscriber's settings); the list and its changes are in roster.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from crswatch.draws.record import iso, stamp
from crswatch.notifier.mask import scrub
from crswatch.subscribers.model import Subscriber

from .. import errors
from ..app import App
from .common import F, profile_option

CADENCE_HELP = (
    "How often to hear from crswatch: instant (every alert at once), daily or weekly (one digest at [alerts] "
    "digest_hour; an invitation always goes out at once)."
)
POOL_HELP = (
    "Also tell me when IRCC publishes a new pool distribution: how many candidates are at or above my score's band."
)
STREAM_HELP = "A stream you are eligible for (repeatable): cec fsw fst pnp french healthcare stem trades transport agriculture education physicians managers military other."


def public_record(sub: Subscriber, with_token: bool = False) -> dict[str, Any]:
    """A subscriber as shown to people: channels masked; a profile (personal data) only as the
    fact that there is one; the token (only known right after subscribing, stored hashed) only
    when asked for."""
    doc: dict[str, Any] = {
        "id": sub.id, "name": sub.name, "score": sub.score, "within": sub.within, "streams": list(sub.streams),
        "profile_created": iso(sub.profile_created),  # as text, as ever
        "channels": [scrub(c.masked) for c in sub.channels],  # stored forms of older releases kept header values
        "created_at": stamp(sub.created_at), "status": sub.status, "language": sub.language, "reminders": sub.wants_reminders, "cadence": sub.cadence,
        "pool_alerts": sub.pool_alerts, "from_profile": sub.profile is not None,
    }  # fmt: skip
    if with_token and sub.token:
        doc["token"] = sub.token
    return doc


def check_channel(url: str) -> str:
    from crswatch.notifier.channels import check_url

    return check_url(url)


PROFILE_HELP = "A CRS profile file (TOML or JSON; - for standard input; see `crswatch crs`): every verdict uses its score on the draw's date."


NOTIFY_HELP = "An apprise channel URL (repeatable): mailto://, slack://, twilio://, tgram://, ntfy://, json://, …"
WITHIN_HELP = "Also alert when the cut-off is at most N points above your score (0-200)"
NOC_HELP = "Your occupation's NOC 2021 code (5 digits): adds the categories it qualifies for to the streams (the code is not stored)."
REMINDERS_HELP = (
    "Reminders when the score is about to change (a birthday, a test expiring, a year of work, the profile expiring) "
    "[default: on with --profile]."
)


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Several options as one decorator, listed by --help in the order given."""

    def apply(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


def _who_options(new: bool) -> Callable[[F], F]:
    """--profile-created, --name and --language: subscribe's (`new`) say what they mean, update's what they replace."""
    return _options(
        click.option("--profile-created", metavar="DATETIME",
                     help="When your Express Entry profile was submitted (ISO 8601), for tie-breaks." if new else "Profile submission time (ISO 8601)."),
        click.option("--name", metavar="TEXT", help="A name to recognise the subscriber by." if new else "New name."),
        click.option("--language", metavar="LANG", help="The language of the alerts: en or fr" + (" [default en]." if new else ".")),
    )  # fmt: skip


def _how_often_options(new: bool) -> Callable[[F], F]:
    """--reminders, --cadence and --pool-alerts, with their defaults said on subscribe (`new`)."""
    return _options(
        click.option("--reminders/--no-reminders", default=None, help=REMINDERS_HELP),
        click.option("--cadence", metavar="C", help=CADENCE_HELP + (" [default instant]" if new else "")),
        click.option("--pool-alerts/--no-pool-alerts", "pool_alerts", default=None, help=POOL_HELP + (" [default: no]" if new else "")),
    )  # fmt: skip


def _read_profile(file: Any) -> str | None:
    if file is None:
        return None
    try:
        return str(file.read())
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read the profile {file.name}: {exc}") from None


@click.command()
@click.option("--score", metavar="N", help="Your CRS score (0-1200); or give --profile.")
@profile_option(PROFILE_HELP)
@click.option("--notify", "channels", multiple=True, required=True, metavar="URL", help=NOTIFY_HELP)
@click.option("--within", metavar="N", help=WITHIN_HELP + " [default 10].")
@click.option("--stream", "streams", multiple=True, metavar="S", help=STREAM_HELP + " [default: cec fsw fst]")
@_who_options(new=True)
@click.option("--noc", metavar="CODE", help=NOC_HELP)
@_how_often_options(new=True)
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
    from crswatch.subscribers.manage import subscribe as do_subscribe

    streams, noc_line = _with_occupation(app, noc, streams)
    profile = _read_profile(profile_file)
    with app.store.write() as tx:
        sub, created = do_subscribe(
            tx, score=score, channels=channels, check=check_channel, defaults=app.subscriber_defaults,
            within=within, streams=streams, profile_created=profile_created, name=name, language=language, profile=profile,
            reminders=reminders, cadence=cadence, pool_alerts=pool_alerts,
        )  # fmt: skip
    if noc_line:
        click.echo(noc_line, err=True)
    _say_subscribed(sub, created, fmt)


def _with_occupation(app: App, noc: str | None, streams: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The streams with the categories a NOC code qualifies for added, and the line saying so.
    Checked before anything is read or written; only the streams it adds are kept, not the code."""
    if noc is None:
        return streams, ""
    from ..occupations import added_line, lookup

    found = lookup(app.config, noc)
    chosen = streams or app.subscriber_defaults.streams
    added = tuple(c for c in found.streams if c not in chosen)
    return (*chosen, *added), added_line(found, added)


def _say_subscribed(sub: Any, created: bool, fmt: str) -> None:
    """The id on standard output (JSON with the token, with --format json); what happened on standard error."""
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


@click.command()
@click.argument("subscriber")
@click.option(
    "--score", metavar="N", help="New CRS score (0-1200); given alone, it replaces a profile (which is erased)."
)
@profile_option("A new CRS profile file (TOML or JSON; - for standard input).")
@click.option("--within", metavar="N", help="New closeness margin (0-200).")
@click.option("--stream", "streams", multiple=True, metavar="S", help="Replace the streams (repeatable).")
@click.option("--notify", "channels", multiple=True, metavar="URL", help="Replace the channels (repeatable).")
@_who_options(new=False)
@_how_often_options(new=False)
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
    from crswatch.subscribers.manage import update as do_update

    with app.store.write() as tx:
        sub = do_update(
            tx, subscriber, check=check_channel, score=score, within=within, streams=streams,
            channels=channels, profile_created=profile_created, name=name, language=language, choices=app.config.streams.subscribable,
            profile=_read_profile(profile_file), rules=app.crs_rules, reminders=reminders, cadence=cadence, pool_alerts=pool_alerts,
        )  # fmt: skip
    click.echo(
        f"updated {sub.id}: score {_score(sub)}, within {sub.within}, streams {' '.join(sub.streams)}, {len(sub.channels)} channel{'s' if len(sub.channels) != 1 else ''}"
    )


COMMANDS = (subscribe, update)
