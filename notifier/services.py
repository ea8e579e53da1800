"""What sending needs besides the messages: the Telegram bot's settings and pacer, the spacing of
other rate-limited services, the templates messages are rendered with, and the store whose subscribers a chat that blocked the bot
deactivates.  Whoever sends owns one (the app, for as long as the process runs, so a pacer
outlives an outbox chunk and a check) and passes it down; no module keeps any of it, so two apps
in one process (the tests) never share a pacer, a bot or a store."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .letters import DEFAULT, Letters
from .mask import Secrets
from .pacing import Pacer
from .telegram import Settings

if TYPE_CHECKING:
    from crswatch.store.sql import Store

#: Minimum seconds between two messages to services that limit rates (through apprise).
PACE = {"tgram": 1 / 25, "telegram": 1 / 25}


class Spacing:
    """Spaces messages to the rate-limited services apprise sends to, across worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, plugin: Any) -> None:
        scheme = str(getattr(plugin, "secure_protocol", "") or getattr(plugin, "protocol", "") or "")
        gap = PACE.get(scheme, 0)
        if not gap:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(scheme, now))
            self._next[scheme] = start + gap
        if start > now:
            time.sleep(start - now)


@dataclass
class Services:
    telegram: Settings = field(default_factory=Settings)  # no token: Telegram alerts wait in the outbox
    store: Store | None = None  # None: a chat that blocked the bot deactivates nobody
    spacing: Spacing = field(default_factory=Spacing)
    letters: Letters = DEFAULT  # the messages' HTML templates (crswatch's own, or an operator's folder over them)
    secrets: Secrets = field(default_factory=Secrets)  # the app's configuration secrets (`notifier.mask`)
    _pacer: Pacer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def telegram_pacer(self) -> Pacer:
        """The bot's one pacer: the first message of a chunk keeps its distance from the last ones
        of the chunk before."""
        with self._lock:
            if self._pacer is None:
                self._pacer = Pacer(self.telegram.rate, self.telegram.chat_gap)
            return self._pacer
