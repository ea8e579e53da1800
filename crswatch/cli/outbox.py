"""Alert commands: test-alert (a real message through each of a subscriber's channels), deliveries
(the outbox, channels masked) and retry (dead deliveries back in the queue)."""

from __future__ import annotations

import sys

import click

from crswatch.draws.record import stamp
from crswatch.notifier.mask import mask_text, scrub

from .. import errors
from ..app import App
from .output import emit, format_option


@click.command("test-alert")
@click.argument("subscriber")
@click.pass_obj
def test_alert(app: App, subscriber: str) -> None:
    """Send a short real test message through each of a subscriber's channels.

    Prints, per channel, delivered or the error; exit 8 when any channel failed.  A channel that
    cannot reach every recipient it names (stored by an earlier release) is refused (exit 2).

    \b
    Example:
      crswatch test-alert k7fq2mxa
    """
    from crswatch.notifier.channels import check_url
    from crswatch.notifier.message import test_message
    from crswatch.notifier.send import send
    from crswatch.subscribers.store import require
    from crswatch.subscribers.validate import Invalid, channels

    with app.store.read() as view:
        sub = require(view, subscriber).subscriber
    try:
        channels(sub.urls, check_url)
    except ValueError as exc:  # nothing is sent: fix the channel with `crswatch update ID --notify URL`
        raise Invalid(
            [f"{line}; fix it with: crswatch update {sub.id} --notify URL" for line in str(exc).splitlines()]
        ) from None
    from ..sending import links_of

    title, bodies = test_message(sub, links_of(app.config, app.store), app.config.alerts.contact, app.services.letters)
    failed = 0
    for channel in sub.channels:
        result = send(channel.destination, title, bodies, app.services)
        failed += not result.ok
        click.echo(
            f"{scrub(channel.masked)}: "
            + ("delivered" if result.ok else f"FAILED: {mask_text(result.error, app.secrets)}")
        )
    if failed:
        click.echo(
            f"crswatch: error: {failed} of {len(sub.channels)} channel{'s' if len(sub.channels) != 1 else ''} failed",
            err=True,
        )
        sys.exit(errors.DELIVERY_FAILED)


DELIVERY_COLUMNS = (
    "id",
    "status",
    "draw",
    "kind",
    "verdict",
    "subscriber",
    "channel",
    "attempts",
    "next_try",
    "last_error",
    "queued_at",
    "sent_at",
)


@click.command()
@click.option(
    "--status",
    type=click.Choice(("queued", "sent", "failed", "dead", "cancelled")),
    help="Only deliveries in this state.",
)
@click.option("--draw", metavar="N", help="Only deliveries about this draw number.")
@format_option
@click.pass_obj
def deliveries(app: App, status: str | None, draw: str | None, fmt: str) -> None:
    """List the outbox: one delivery per (draw, subscriber, channel), channels masked.

    \b
    Examples:
      crswatch deliveries --status failed
      crswatch deliveries --draw 392 --format json
    """
    from crswatch.notifier.outbox import listing

    with app.read_store.read() as view:
        rows = listing(view, status, draw.lstrip("#") if draw else None)
    emit(
        (
            {
                **{k: v for k, v in d.to_doc().items() if k != "payload"},
                "masked": scrub(d.masked),
                "channel": scrub(d.masked),
                "last_error": mask_text(d.last_error, app.secrets),
                **{
                    name: stamp(at) if (at := getattr(d, name)) else None
                    for name in ("queued_at", "next_try", "sent_at")
                },
            }
            for d in rows
        ),
        DELIVERY_COLUMNS,
        fmt,
    )


@click.command()
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--dead", "all_dead", is_flag=True, help="Re-queue every dead delivery.")
@click.pass_obj
def retry(app: App, ids: tuple[str, ...], all_dead: bool) -> None:
    """Put dead deliveries back in the queue; the next check sends them.

    \b
    Examples:
      crswatch retry --dead
      crswatch retry 392/0/k7fq2mxa/4f1c0b2e9a7d5e3c1b0a9f8e
    """
    from crswatch.notifier.outbox import requeue

    if not ids and not all_dead:
        raise errors.UsageError("give delivery ids (see: crswatch deliveries --status dead) or --dead")
    with app.store.write() as tx:
        count = requeue(tx, ids, all_dead)
    if ids and count < len(ids):
        raise errors.UsageError(f"re-queued {count} of {len(ids)}: the others are unknown or not dead")
    click.echo(f"re-queued {count} dead deliver{'y' if count == 1 else 'ies'}")


COMMANDS = (test_alert, deliveries, retry)
