"""Pacing of a bot's messages within Telegram's limits (about 30 a second for the bot, one a
second per chat, and a 429's `retry_after` for everyone), with an injectable clock."""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable

#: The rate's window is this much wider than a second, so that the jitter of the network never
#: puts more than `rate` messages into any one second at Telegram's end (2% slower than the limit).
MARGIN = 1.02
#: A message that starts late (the event loop woke up late: a busy machine) is credited, and the
#: next ones follow closer, down to 1/CATCH_UP of the spacing, until the credit is spent: without
#: it, every late wake-up would push all later messages back (a 10 ms delay per message made a
#: busy machine's fan-out 15% slower; with it, 0.7%).  Never more than `rate` in any window.
CATCH_UP = 2.0
#: The most credit, in windows (a pause, or a long idle spell, is not made up).
DEBT = 0.1
#: Chats remembered at most before those that may receive again are forgotten.
FORGET_AFTER = 1024


class Pacer:
    """When each message may start: evenly spaced at the rate, at most `rate` starts in any
    window of a second (widened by MARGIN) for the bot, one per `chat_gap` per chat, nothing
    before a 429's `retry_after`.

    The even spacing counts from the last real start, and a start later than it could have been
    is credited (at most DEBT of a window): the next messages follow each other closer, down to
    1/CATCH_UP of the spacing, until the credit is spent.  The window over the real starts is the
    hard limit whatever happens.  Starts are recorded as they happen (`started`), one after the
    other, so the pacer sees whatever the event loop's wake-ups did."""

    def __init__(self, rate: float, chat_gap: float, clock: Callable[[], float] = time.monotonic):
        rate = max(rate, 0.001)
        self.burst = max(1, int(rate))  # starts in one window
        self.window = MARGIN * max(1.0, self.burst / rate)  # never under a second: `burst` <= rate per second
        self.gap = self.window / self.burst  # the even spacing
        self.chat_gap, self.clock = chat_gap, clock
        self.starts: deque[float] = deque(maxlen=self.burst)
        self.credit = 0.0  # seconds lost to late starts, to be made up
        self.held = 0.0  # nothing starts before this (a 429)
        self.chats: dict[str, float] = {}

    def ready(self, chat: str) -> float:
        """When this chat may receive its next message."""
        return self.chats.get(chat, 0.0)

    def due(self, chat: str) -> float:
        """The earliest start of a message to `chat` (now, or later)."""
        closer = min(self.credit, self.gap - self.gap / CATCH_UP)
        return max(self.clock(), self._even(chat) - closer, self._window_end())

    def _even(self, chat: str) -> float:
        """When the message could start without making anything up."""
        after = self.starts[-1] + self.gap if self.starts else 0.0
        return max(after, self._window_end(), self.held, self.ready(chat))

    def _window_end(self) -> float:
        """The start `burst` messages ago leaves the window then."""
        return self.starts[0] + self.window if len(self.starts) == self.burst else 0.0

    def started(self, chat: str) -> None:
        """A message to `chat` left now."""
        now = self.clock()
        if self.starts:  # later than it could have been: credit; earlier (making up): debit
            self.credit = min(DEBT * self.window, max(0.0, self.credit + now - self._even(chat)))
        self.starts.append(now)
        self.chats[chat] = now + self.chat_gap
        if len(self.chats) > FORGET_AFTER:  # forget chats that may receive again
            self.chats = {c: at for c, at in self.chats.items() if at > now}

    def hold(self, seconds: float) -> None:
        self.held = max(self.held, self.clock() + seconds)


_pacers: dict[tuple[str, str, float, float], Pacer] = {}


def pacer_of(api_url: str, token: str, rate: float, chat_gap: float) -> Pacer:
    """The bot's one pacer for this process: it outlives a dispatch's chunk, so the first message
    of the next chunk keeps its distance from the last ones of this chunk."""
    key = (api_url, _digest(token), rate, chat_gap)
    if key not in _pacers:
        _pacers[key] = Pacer(rate, chat_gap)
    return _pacers[key]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
