"""`crswatch bot`: the Telegram bot (sign-up and self-service in the chat), by long polling."""

from __future__ import annotations

import logging

import click

from .. import errors
from ..app import App


@click.command()
@click.option(
    "--api-url", metavar="URL", help="Bot API server [config telegram.api_url; default https://api.telegram.org]."
)
@click.option(
    "--poll-timeout",
    type=click.IntRange(1, 50),
    default=30,
    show_default=True,
    help="Seconds one long poll (getUpdates) waits.",
)
@click.pass_obj
def bot(app: App, api_url: str | None, poll_timeout: int) -> None:
    """Run the Telegram bot: candidates sign up with /start and manage their alerts from the chat.

    Needs the bot's token from @BotFather in `[telegram] token` or env CRSWATCH_TELEGRAM_TOKEN
    (never printed or logged).  Alerts to Telegram subscribers are sent by `check` and `run`
    through the outbox, like every other channel.  Stop with SIGTERM or Ctrl-C.

    \b
    Example:
      CRSWATCH_TELEGRAM_TOKEN=123456:ABC… crswatch bot
    """
    from dataclasses import replace

    config = app.config
    if api_url:
        config = app.with_config(telegram=replace(config.telegram, api_url=api_url))
    if not config.telegram.token:
        raise errors.UsageError(
            "no Telegram bot token: set [telegram] token or CRSWATCH_TELEGRAM_TOKEN (ask @BotFather for one)"
        )
    if (
        config.telegram.chats != "bot"
    ):  # two answering the same bot would take each other's updates (or remove the webhook)
        where = "crswatch run" if config.telegram.chats == "run" else "crswatch serve (webhook)"
        raise errors.UsageError(
            f'[telegram] chats = "{config.telegram.chats}": the chats are answered by {where}, not by crswatch bot'
        )
    if not config.telegram.api_url.startswith(("http://", "https://")):
        raise errors.UsageError(f"telegram.api_url must be an http(s) URL, not {config.telegram.api_url!r}")
    app.store  # noqa: B018 - a store that cannot be used is said now, in one line, not at the first chat
    from crswatch.bot.run import poll

    _quiet_http(app.verbose)
    click.echo(
        f"crswatch: the Telegram bot is answering chats through {config.telegram.api_url} (Ctrl-C to stop)", err=True
    )
    try:
        poll(app, poll_timeout)
    except Exception as exc:  # python-telegram-bot's own failures: a rejected token, an unreachable server
        from crswatch.bot.run import explained

        error = explained(exc)
        if error is None:
            raise
        raise error from None


def _quiet_http(verbose: int) -> None:
    """httpx logs every request URL (which carries the token) at INFO: only with -vv, and masked
    like every record (the token is a remembered secret, see notifier.mask)."""
    if verbose < 2:
        for name in ("httpx", "httpcore", "telegram", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("crswatch.bot").setLevel(logging.INFO if verbose else logging.WARNING)


COMMANDS = [bot]
