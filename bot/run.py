"""Run the bot: python-telegram-bot's Application, by long polling (`crswatch bot`, or inside
`crswatch run`) or by webhook (inside `crswatch serve`): `[telegram] chats` says which one."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from crswatch import errors
from crswatch.app import App

from .chat import COMMANDS, install
from .service import Service

log = logging.getLogger("crswatch.bot")
ALLOWED_UPDATES = ["message", "callback_query"]
HANDLE_TIMEOUT = 60.0  # seconds one update may take by webhook (Telegram itself gives up after about a minute)


def application(app: App, polling: bool = True) -> Any:
    """The Application with every handler, for `[telegram] token` on `[telegram] api_url`."""
    from telegram.ext import ApplicationBuilder

    settings = app.config.telegram
    api = settings.api_url.rstrip("/")
    builder = ApplicationBuilder().token(settings.token).base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
    built = (builder if polling else builder.updater(None)).build()
    install(built, Service(app), settings.calculator_url)
    return built


def poll(app: App, timeout: int = 30) -> None:
    """Answer chats until stopped (SIGINT, SIGTERM).  Updates are confirmed to Telegram only after
    they were handled, so a killed bot is sent again what it had not answered."""
    log.info("bot: polling %s", app.config.telegram.api_url)
    application(app).run_polling(timeout=timeout, drop_pending_updates=False, allowed_updates=ALLOWED_UPDATES,
                                 close_loop=True)  # fmt: skip


def explained(exc: BaseException) -> errors.CrswatchError | None:
    """python-telegram-bot's failures at start as crswatch's one-line errors (None: not one of them)."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    if isinstance(exc, InvalidToken):
        return errors.UsageError("the Telegram bot token was rejected by the Bot API server")
    if isinstance(exc, (NetworkError, TelegramError)):
        return errors.FetchFailed(f"the Bot API server cannot be used: {exc}")
    return None


class Polling:
    """The bot inside `crswatch run` (`[telegram] chats = "run"`): long polling on run's own event
    loop, started with it and stopped before it stops (updates it had not handled are confirmed
    to nobody, so the next poller gets them)."""

    def __init__(self, app: App, timeout: int = 30):
        self.app, self.timeout = app, timeout
        self.application: Any = None

    async def start(self) -> None:
        self.application = application(self.app)
        try:
            await self.application.initialize()
            await self.application.updater.start_polling(
                timeout=self.timeout, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False
            )
            await self.application.start()
        except Exception as exc:
            await self.stop()
            error = explained(exc)
            if error is None:
                raise
            raise error from None
        log.info("bot: polling %s inside run", self.app.config.telegram.api_url)

    async def stop(self) -> None:
        built, self.application = self.application, None
        if built is None:
            return
        if built.updater is not None and built.updater.running:
            await built.updater.stop()
        if built.running:
            await built.stop()
        await built.shutdown()


class Webhook:
    """The bot inside `crswatch serve` (`[telegram] chats = "serve"`): Telegram POSTs each update to
    web.webhook's page, which hands it to `handle`, on an event loop of the bot's own (waitress's
    threads are not asyncio's).  One update at a time, as by polling: a chat's sign-up moves in order.
    The secret Telegram sends back is made once and kept in the store (every `serve` host shares it)."""

    def __init__(self, app: App):
        from crswatch.store.kv import secret

        self.app = app
        self.secret = secret(app.store, "telegram-webhook").hex()  # 64 of [0-9a-f]: a valid secret_token
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram", daemon=True)
        self.application: Any = None
        self.lock = asyncio.Lock()

    def start(self, url: str) -> None:
        """Build the bot and tell Telegram to send the chats' updates to `url`."""
        self.thread.start()
        try:
            self._call(self._start(url))
        except Exception as exc:
            self.stop()
            error = explained(exc)
            if error is None:
                raise
            raise error from None
        log.info("bot: answering chats by webhook at %s", url)

    async def _start(self, url: str) -> None:
        self.application = application(self.app, polling=False)
        await self.application.initialize()
        await self.application.start()
        await self.application.bot.set_webhook(url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)

    def handle(self, update: dict[str, Any]) -> None:
        """Handle one update (the reply sent, the store changed) before returning."""
        self._call(self._handle(update), HANDLE_TIMEOUT)

    async def _handle(self, data: dict[str, Any]) -> None:
        from telegram import Update

        async with self.lock:
            await self.application.process_update(Update.de_json(data, self.application.bot))

    def stop(self) -> None:
        """Stop answering (the webhook stays set: Telegram keeps the updates until a `serve` is back)."""
        if not self.thread.is_alive():
            return
        try:
            self._call(self._stop(), 30.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _stop(self) -> None:
        built, self.application = self.application, None
        if built is not None:
            if built.running:
                await built.stop()
            await built.shutdown()

    def _call(self, work: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)


__all__ = ["COMMANDS", "Polling", "Webhook", "application", "explained", "poll"]
