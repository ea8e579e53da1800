"""Alerts to Telegram chats through the Bot API (python-telegram-bot's `Bot`).

A Telegram subscriber's channel is `telegram://<chat id>`: it names the chat only.  The bot's token
and API server are configuration (`[telegram]`), read at send time, so no token is ever stored with
a subscriber, in the outbox or in a listing.  All of one dispatch's Telegram messages share one
pacer: at most `rate` messages a second for the bot and one per `chat_gap` seconds per chat
(Telegram's limits), started on schedule so a slow answer does not slow the rest.  A 429 holds
every message for its `retry_after` and the message is tried again; a 403 ("bot was blocked by
the user") deactivates the chat's subscriber (status `blocked`, shown by `crswatch subscribers`)
and cancels its waiting deliveries: a blocked bot is never retried and never dead-lettered.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # every command configures this module: it imports the sending side only to send
    import asyncio

    from store.sql import Store

    from .send import OnResult, Outgoing

SCHEME = "telegram"
DEFAULT_API = "https://api.telegram.org"
_CHANNEL = re.compile(r"^telegram://(-?\d{1,20})/?$")
#: A 429 asking for longer than this fails the message instead (the outbox retries it later).
MAX_WAIT = 120.0
#: Tries of one message within a dispatch when Telegram answers 429.
TRIES = 5
#: Messages waiting for Telegram's answer at once (pacing decides when each one starts).
IN_FLIGHT = 32
#: Messages are spaced this much wider than the rate, so that the jitter of the network never
#: puts more than `rate` of them into any one second at Telegram's end (2% slower than the limit).
MARGIN = 1.02
BLOCKED_ERROR = "the user blocked the bot: subscriber deactivated"
log = logging.getLogger("crswatch.telegram")


@dataclass(frozen=True)
class Settings:
    token: str = ""
    api_url: str = DEFAULT_API
    rate: float = 30.0
    chat_gap: float = 1.0

    def __repr__(self) -> str:  # the token never reaches a log line or traceback
        return f"Settings(api_url={self.api_url!r}, rate={self.rate}, chat_gap={self.chat_gap})"


_settings = Settings()
_store: Store | None = None


def configure(settings: Settings, store: Store | None = None) -> None:
    """The bot alerts are sent with, and the store whose subscribers a 403 deactivates."""
    global _settings, _store
    _settings, _store = settings, store


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


def bot(settings: Settings | None = None) -> Any:
    """python-telegram-bot's Bot for the configured server (its URL is `<api_url>/bot<token>/…`)."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    settings = settings or _settings
    request = HTTPXRequest(connection_pool_size=IN_FLIGHT, pool_timeout=30.0)  # Bot's default is one connection
    return Bot(settings.token, base_url=f"{settings.api_url.rstrip('/')}/bot", request=request)


class Pacer:
    """When each message may start: `rate` a second for the bot, one per `chat_gap` per chat, and
    nothing before a 429's `retry_after` has passed."""

    def __init__(self, rate: float, chat_gap: float, clock: Callable[[], float] = time.monotonic):
        self.gap, self.chat_gap, self.clock = MARGIN / max(rate, 0.001), chat_gap, clock
        self.least = 1 / max(rate, 0.001)  # between two real starts, whatever happened
        self.next = clock()
        self.chats: dict[str, float] = {}

    def ready(self, chat: str) -> float:
        """When this chat may receive its next message."""
        return self.chats.get(chat, 0.0)

    def take(self, chat: str) -> float:
        """The start time of a message to `chat` sent now (and reserve the slots it uses)."""
        start = max(self.clock(), self.next, self.ready(chat))
        self.next = start + self.gap
        self.chats[chat] = start + self.chat_gap
        return start

    def started(self, chat: str) -> None:
        """A message really left now (perhaps later than its slot: a busy machine): the next one
        leaves at least 1/rate later, so late starts never bunch up above the rate."""
        now = self.clock()
        self.next = max(self.next, now + self.least)
        self.chats[chat] = max(self.ready(chat), now + self.chat_gap)

    def hold(self, seconds: float) -> None:
        self.next = max(self.next, self.clock() + seconds)


def send_all(items: list[Outgoing], on_result: OnResult, before_send: Callable[[], Any] = lambda: None) -> None:
    """Send one dispatch's Telegram messages (notifier.send routes every telegram:// URL here)."""
    from .send import Result

    if not _settings.token:
        for item in items:
            on_result(item.key, Result(item.url, False, "no Telegram bot is configured ([telegram] token)"))
        return
    import asyncio

    asyncio.run(_send_all(items, on_result, before_send, _settings))


async def _send_all(items: list[Outgoing], on_result: OnResult, before_send: Callable[[], Any], settings: Settings) -> None:
    from telegram.error import TelegramError

    from .send import Result

    pacer = Pacer(settings.rate, settings.chat_gap)
    waiting: deque[Outgoing] = deque()
    for item in items:
        if chat_of(item.url) is None:
            on_result(item.key, Result(item.url, False, "not a Telegram chat (expected telegram://<chat id>)"))
        else:
            waiting.append(item)
    client = bot(settings)
    try:
        async with client:
            await _paced(client, waiting, pacer, on_result, before_send)
    except TelegramError as exc:  # the bot itself is unusable (a wrong token, the server down)
        for item in waiting:
            on_result(item.key, Result(item.url, False, f"Telegram: {exc}"))


async def _paced(client: Any, waiting: deque[Outgoing], pacer: Pacer, on_result: OnResult, before_send: Callable[[], Any]) -> None:
    """Start each message at its slot, oldest first, skipping past a chat that must still wait."""
    import asyncio

    running: set[asyncio.Task[None]] = set()
    slots = asyncio.Semaphore(IN_FLIGHT)
    while waiting:
        item = _next_ready(waiting, pacer)
        if item is None:  # every waiting chat had a message a moment ago
            await asyncio.sleep(max(0.0, min(pacer.ready(chat_of(i.url) or "") for i in waiting) - pacer.clock()))
            continue
        await slots.acquire()
        await asyncio.to_thread(before_send)  # the dispatcher's bound on messages in flight
        chat = chat_of(item.url) or ""
        await asyncio.sleep(max(0.0, pacer.take(chat) - pacer.clock()))
        pacer.started(chat)
        task = asyncio.create_task(_one(client, item, pacer, on_result))
        running.add(task)
        task.add_done_callback(partial(_finished, running, slots))
    if running:
        await asyncio.gather(*running)


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


async def _one(client: Any, item: Outgoing, pacer: Pacer, on_result: OnResult) -> None:
    import asyncio

    from telegram.error import Forbidden, RetryAfter, TelegramError

    from .send import Result

    chat = chat_of(item.url) or ""
    for _ in range(TRIES):
        try:
            await client.send_message(chat_id=int(chat), text=_text(item))
            on_result(item.key, Result(item.url, True))
            return
        except RetryAfter as exc:
            wait = seconds(exc.retry_after)
            if wait > MAX_WAIT:
                on_result(item.key, Result(item.url, False, f"Telegram asked to wait {wait:.0f} s (429)"))
                return
            log.info("telegram: 429, every message waits %.1f s", wait)
            pacer.hold(wait)
            await asyncio.sleep(max(0.0, pacer.take(chat) - pacer.clock()))
            pacer.started(chat)
        except Forbidden as exc:
            await asyncio.to_thread(deactivate, item.url)
            on_result(item.key, Result(item.url, False, f"{BLOCKED_ERROR} ({exc.message})"))
            return
        except TelegramError as exc:
            on_result(item.key, Result(item.url, False, f"Telegram: {exc.message}"))
            return
        except Exception as exc:  # noqa: BLE001 - this message fails alone; the others go on
            on_result(item.key, Result(item.url, False, f"{type(exc).__name__}: {exc}"))
            return
    on_result(item.key, Result(item.url, False, f"Telegram still answered 429 after {TRIES} tries"))


def seconds(value: int | float | timedelta) -> float:
    """A `retry_after` as seconds (python-telegram-bot gives an int or, from 22.2 on request, a timedelta)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _text(item: Outgoing) -> str:
    """The plain-text rendering, led by the subject when the body does not start with it."""
    from .send import TEXT

    body = item.bodies.get(TEXT, "")
    text = body if not item.title or body.startswith(item.title) else f"{item.title}\n\n{body}"
    return text[:4096]  # Telegram's limit for one message


def deactivate(url: str, store: Store | None = None) -> str | None:
    """The chat blocked the bot: its subscriber becomes `blocked` (no alert is planned or sent to
    it until it says /resume or /start to the bot) and its waiting deliveries are cancelled.
    Returns the subscriber's id (None when nobody has this chat)."""
    from sqlalchemy import update

    from subscribers import store as subscribers
    from subscribers.model import BLOCKED

    from .outbox import CANCELLED, FAILED, QUEUED
    from .tables import deliveries

    store = store or _store
    if store is None:
        return None
    with store.write() as conn:
        owner = subscribers.owners(conn, [url]).get(url)
        if owner is None:
            return None
        found = subscribers.require(conn, owner)
        subscribers.replace_all(conn, [(found, found.subscriber.with_changes(status=BLOCKED))])
        conn.execute(
            update(deliveries)
            .where(deliveries.c.subscriber == owner, deliveries.c.status.in_((QUEUED, FAILED)))
            .values(status=CANCELLED, last_error=BLOCKED_ERROR, claimed_until=None, claimed_by=None, payload=None)
        )
    log.warning("telegram: subscriber %s blocked the bot and was deactivated", owner)
    return owner
