"""Run the bot: python-telegram-bot's Application, long polling on the configured Bot API server."""

from __future__ import annotations

import logging
from typing import Any

from crswatch.app import App

from .chat import COMMANDS, install
from .service import Service

log = logging.getLogger("crswatch.bot")


def application(app: App) -> Any:
    """The Application with every handler, for `[telegram] token` on `[telegram] api_url`."""
    from telegram.ext import ApplicationBuilder

    settings = app.config.telegram
    api = settings.api_url.rstrip("/")
    built = ApplicationBuilder().token(settings.token).base_url(f"{api}/bot").base_file_url(f"{api}/file/bot").build()
    install(built, Service(app), settings.calculator_url)
    return built


def poll(app: App, timeout: int = 30) -> None:
    """Answer chats until stopped (SIGINT, SIGTERM).  Updates are confirmed to Telegram only after
    they were handled, so a killed bot is sent again what it had not answered."""
    log.info("bot: polling %s", app.config.telegram.api_url)
    application(app).run_polling(timeout=timeout, drop_pending_updates=False, allowed_updates=["message", "callback_query"],
                                 close_loop=True)  # fmt: skip


__all__ = ["COMMANDS", "application", "poll"]
