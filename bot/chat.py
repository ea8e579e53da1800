"""The conversation: sign-up with `/start` (or a deep link from the web page) and the commands.

Every reply is in the user's language (their subscription's, else the one chosen during sign-up,
else their Telegram app's).  Wrong input always gets a one-line explanation.  A sign-up lives in
the bot's memory until its summary is confirmed, and only then is it stored, in one transaction,
before the bot says so: a bot killed at any moment loses at most an unconfirmed sign-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from . import commands, signup, talk
from .i18n import gettext_for
from .service import Service
from .talk import Context

log = logging.getLogger("crswatch.bot")
COMMANDS = ("start", "status", "score", "within", "streams", "language", "cadence", "pool", "pause", "resume", "last", "next", "history", "stop",
            "help")  # fmt: skip


def install(application: Application[Any, Any, Any, Any, Any, Any], service: Service, calculator_url: str) -> None:
    """Register every handler of the conversation on a python-telegram-bot Application."""
    application.bot_data.update(service=service, calculator=calculator_url)
    for name in COMMANDS:
        application.add_handler(
            CommandHandler(name, _guarded(getattr(signup if name == "start" else commands, f"cmd_{name}")))
        )
    application.add_handler(MessageHandler(filters.COMMAND, _guarded(commands.unknown_command)))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _guarded(signup.text)))
    application.add_handler(CallbackQueryHandler(_guarded(button)))


def _guarded(handler: Callable[[Update, Context], Any]) -> Callable[[Update, Context], Any]:
    """A reply in every case: a problem with the store is said in one line, never silence."""

    async def run(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except Exception:  # noqa: BLE001 - the user hears of it; the operator reads the log
            log.exception("bot: a %s failed", handler.__name__)
            _ = gettext_for(talk.language(update, context))
            await talk.say(update, _("Something went wrong on our side; please try again in a minute."))

    run.__name__ = handler.__name__
    return run


async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    kind, _sep, value = (query.data or "").partition(":")
    if kind in ("set-stream", "set-lang"):
        await commands.settings_button(update, context, kind, value)
        return
    draft = talk.draft(context)
    if draft is None:
        _ = gettext_for(talk.language(update, context))
        await talk.say(update, _("This sign-up is no longer open. Send /start to begin again."))
        return
    await signup.sign_up_button(update, context, draft, kind, value)
