"""Alerts to Telegram chats through the Bot API (python-telegram-bot's `Bot`).

A Telegram subscriber's channel is `telegram://<chat id>`: it names the chat only.  The bot's token
and API server are configuration (`[telegram]`), read at send time, so no token is ever stored with
a subscriber, in the outbox or in a listing.  All of the bot's messages share one
pacer (`notifier.pacing`), which the app owns (`notifier.services`) and keeps from one outbox
chunk and one check to the next: at most `rate` messages a
second for the bot and one per `chat_gap` seconds per chat (Telegram's limits), each started when
the pacer allows, so a slow answer does not slow the rest.  A 429 holds every message for its
`retry_after` and the message is tried again; a 403 ("bot was blocked by
the user") deactivates the chat's subscriber (status `blocked`, shown by `crswatch subscribers`)
and cancels its waiting deliveries: a blocked bot is never retried and never dead-lettered.
"""

from __future__ import annotations

import logging
import math
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from .mask import mask_text
from .pacing import Pacer, Ticket

if (
    TYPE_CHECKING
):  # commands that never send (listings, --help) import this module: it loads the sending side only to send
    import asyncio
    import ssl

    from crswatch.store.sql import Store

    from .outgoing import OnResult, Outgoing

SCHEME = "telegram"
DEFAULT_API = "https://api.telegram.org"
_CHANNEL = re.compile(r"^telegram://(-?\d{1,20})/?$")
#: A 429 asking for longer than this fails the message instead (the outbox retries it later).
MAX_WAIT = 120.0
#: Tries of one message within a dispatch when Telegram answers 429.
TRIES = 5
#: Messages waiting for Telegram's answer at once (pacing decides when each one starts).
IN_FLIGHT = 32
log = logging.getLogger("crswatch.telegram")


@dataclass(frozen=True)
class Settings:
    token: str = ""
    api_url: str = DEFAULT_API
    rate: float = 30.0
    chat_gap: float = 1.0

    def __repr__(self) -> str:  # the token never reaches a log line or traceback
        return f"Settings(api_url={self.api_url!r}, rate={self.rate}, chat_gap={self.chat_gap})"


def channel(chat_id: int | str) -> str:
    return f"{SCHEME}://{int(chat_id)}"


def chat_of(url: str) -> str | None:
    """The chat id a `telegram://<chat id>` channel names; None for anything else."""
    match = _CHANNEL.match(url.strip())
    return match.group(1) if match else None


def check(url: str) -> str:
    """A ChannelCheck for Telegram channels: the URL itself (a chat id hides no secret)."""
    if chat_of(url) is None:
        raise ValueError("not a Telegram chat (expected telegram://<chat id>)")
    return url.strip().rstrip("/")


def checker(other: Callable[[str], str]) -> Callable[[str], str]:
    """`check` for telegram:// URLs, `other` (apprise's) for the rest."""
    return lambda url: check(url) if url.strip().lower().startswith(f"{SCHEME}://") else other(url)


def bot(settings: Settings) -> Any:
    """python-telegram-bot's Bot for the configured server (its URL is `<api_url>/bot<token>/…`)."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    verify = {"verify": _trust()}  # loading the CA file takes httpx 0.1 s a client: once, not at every outbox chunk
    request = HTTPXRequest(
        connection_pool_size=IN_FLIGHT, pool_timeout=30.0, httpx_kwargs=verify
    )  # Bot's default is one connection
    return Bot(settings.token, base_url=f"{settings.api_url.rstrip('/')}/bot", request=request,
               get_updates_request=HTTPXRequest(httpx_kwargs=verify))  # fmt: skip


@cache
def _trust() -> ssl.SSLContext:
    """The certificates httpx trusts by default (certifi's), in one context shared by every client."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def send_all(items: list[Outgoing], on_result: OnResult, settings: Settings, pacer: Pacer, store: Store | None,
             before_send: Callable[[], Any] = lambda: True) -> None:  # fmt: skip
    """Send one dispatch's Telegram messages (notifier.send routes every telegram:// URL here)
    with the bot of `settings`, through its `pacer` (its owner's, kept from one dispatch to the
    next); a chat that blocked the bot deactivates its subscriber in `store`.  Like every route,
    each result follows a `before_send()` that said yes (the dispatcher's permit, given back when
    the result is stored), failures included."""
    if not settings.token:
        _fail(items, "no Telegram bot is configured ([telegram] token)", on_result, before_send)
        return
    import asyncio

    from .mask import Secrets, delivering

    # the token is hidden from every error these sends record (python-telegram-bot's InvalidToken quotes it)
    with delivering(Secrets(settings.token)):
        asyncio.run(_send_all(items, _Sending(bot(settings), deque(), pacer, on_result, before_send, store)))


def _fail(items: Iterable[Outgoing], error: str, on_result: OnResult, before_send: Callable[[], Any]) -> None:
    from .outgoing import Result

    for item in items:
        if not before_send():
            return
        on_result(item.key, Result(item.url, False, mask_text(error)))


async def _send_all(items: list[Outgoing], sending: _Sending) -> None:
    import asyncio

    from telegram.error import TelegramError

    on_result, before_send, waiting = sending.on_result, sending.before_send, sending.waiting
    waiting.extend(item for item in items if chat_of(item.url) is not None)
    wrong = [item for item in items if chat_of(item.url) is None]
    await asyncio.to_thread(_fail, wrong, "not a Telegram chat (expected telegram://<chat id>)", on_result, before_send)
    try:
        async with sending.client:
            await sending.run()
    except TelegramError as exc:  # the bot itself is unusable (a wrong token, the server down)
        await asyncio.to_thread(_fail, [] if sending.stopped else waiting, f"Telegram: {exc}", on_result, before_send)


class _Sending:
    """One dispatch's messages through one Bot.  Every start goes through `run`, one after the
    other (a message answered 429 comes back to the head of the queue), so the pacer sees each
    real start in order and its window is exact."""

    def __init__(
        self, client: Any, waiting: deque[Outgoing], pacer: Pacer, on_result: OnResult, before_send: Callable[[], Any],
        store: Store | None,
    ):  # fmt: skip
        self.client, self.waiting, self.pacer, self.on_result, self.before_send = (
            client,
            waiting,
            pacer,
            on_result,
            before_send,
        )
        self.store = store  # whose subscriber a chat that blocked the bot was
        self.tries: dict[str, int] = {}  # messages answered 429 so far: how often (their permit is still held)
        self.stopped = False  # the dispatcher said no more: nothing else starts
        self.running: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Start each message when the pacer allows, oldest first, skipping past a chat that must still wait."""
        import asyncio

        slots = asyncio.Semaphore(IN_FLIGHT)
        while (self.waiting and not self.stopped) or self.running:
            item = _next_ready(self.waiting, self.pacer) if self.waiting and not self.stopped else None
            if item is None:  # nothing to start now: wait for a chat to be free, or for an answer (a 429 comes back)
                delay = (
                    None
                    if self.stopped
                    else min((self.pacer.ready(chat_of(i.url) or "") for i in self.waiting), default=None)
                )
                await self._wake_up(math.inf if delay is None else delay - self.pacer.clock())
                continue
            await slots.acquire()
            if item.key not in self.tries and not await asyncio.to_thread(
                self.before_send
            ):  # the dispatcher stops sending
                slots.release()
                self.stopped = True  # the rest get no result: their claims lapse and the next dispatch sends them
                continue
            chat = chat_of(item.url) or ""
            while (
                wait := self.pacer.due(chat) - self.pacer.clock()
            ) > 0:  # re-asked: an answer came, or a 429 holds everything
                await self._wake_up(wait)
            task = asyncio.create_task(self._one(item, chat, self.pacer.started(chat)))
            self.running.add(task)
            task.add_done_callback(partial(_finished, self.running, slots))

    async def _wake_up(self, wait: float) -> None:
        """After `wait` seconds, or as soon as a message's answer comes (infinity: only then)."""
        import asyncio

        if self.running:
            await asyncio.wait(
                self.running, timeout=None if wait == math.inf else max(0.0, wait), return_when=asyncio.FIRST_COMPLETED
            )
        else:  # (nothing is awaited: infinity cannot happen)
            await asyncio.sleep(max(0.0, min(wait, 1.0)))

    async def _one(self, item: Outgoing, chat: str, ticket: Ticket) -> None:
        from telegram.error import Forbidden, RetryAfter, TelegramError

        from .outgoing import Result

        try:
            try:
                await self.client.send_message(chat_id=int(chat), text=_text(item))
            finally:
                self.pacer.answered(ticket)  # whatever the answer (or none): the window counts from now
            result = Result(item.url, True)
        except RetryAfter as exc:
            result = self._again(item, seconds(exc.retry_after))
        except Forbidden as exc:
            import asyncio

            from .blocked import BLOCKED_ERROR, deactivate  # the store's side, loaded only when a chat blocked the bot

            await asyncio.to_thread(deactivate, item.url, self.store)
            result = Result(item.url, False, f"{BLOCKED_ERROR} ({exc.message})")
        except TelegramError as exc:
            result = Result(item.url, False, f"Telegram: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - this message fails alone; the others go on
            result = Result(item.url, False, f"{type(exc).__name__}: {exc}")
        if result is not None:
            self.on_result(item.key, replace(result, error=mask_text(result.error)))

    def _again(self, item: Outgoing, wait: float) -> Any:
        """A 429: every message waits `wait` s, and this one goes back to the head of the queue
        (None), unless Telegram asks too long or too often (its failed Result: the outbox retries it)."""
        from .outgoing import Result

        if wait > MAX_WAIT:
            return Result(item.url, False, f"Telegram asked to wait {wait:.0f} s (429)")
        self.tries[item.key] = self.tries.get(item.key, 1) + 1
        if self.tries[item.key] > TRIES:
            return Result(item.url, False, f"Telegram still answered 429 after {TRIES} tries")
        log.info("telegram: 429, every message waits %.1f s", wait)
        self.pacer.hold(wait)
        self.waiting.appendleft(item)
        return None


def _finished(running: set[asyncio.Task[None]], slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
    running.discard(task)
    slots.release()


def _next_ready(waiting: deque[Outgoing], pacer: Pacer) -> Outgoing | None:
    now = pacer.clock()
    for index, item in enumerate(waiting):
        if pacer.ready(chat_of(item.url) or "") <= now:
            del waiting[index]
            return item
    return None


def seconds(value: int | float | timedelta) -> float:
    """A `retry_after` as seconds (python-telegram-bot gives an int or, from 22.2 on request, a timedelta)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _text(item: Outgoing) -> str:
    """The plain-text rendering, led by the subject when the body does not start with it."""
    from .outgoing import TEXT

    body = item.bodies.get(TEXT, "")
    text = body if not item.title or body.startswith(item.title) else f"{item.title}\n\n{body}"
    return text[:4096]  # Telegram's limit for one message
