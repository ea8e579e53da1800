"""Pacing of a bot's messages within Telegram's limits (about 30 a second for the bot, one a
second per chat, and a 429's `retry_after` for everyone), with an injectable clock.

What Telegram counts is when each message reaches it, which the sender never sees: some time
after the request left, before its answer came back.  So the one rule that holds whatever the
network and the two machines' schedulers do is on both ends: a message starts no earlier than a
window (a second) after the *answer* to the message `rate` places before it.  Then any `rate` + 1
messages reached Telegram at least a second apart, first to last: never more than `rate` in any
second at Telegram's end.  (Spacing by start times alone, even 2% wider than the rate, was seen
to put 33 messages into one second at the local stand-in when a loaded machine stalled its
process for a tenth of a second.)  The cost is the answer's delay once per window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

#: A message that starts late (the event loop woke up late: a busy machine) is credited, and the
#: next ones follow closer, down to 1/CATCH_UP of the spacing, until the credit is spent: without
#: it, every late wake-up would push all later messages back (a 10 ms delay per message made a
#: fan-out 15% slower; with it, under 1%).  The window above still holds whatever happens.
CATCH_UP = 2.0
#: The most credit, in windows (a pause, or a long idle spell, is not made up).
DEBT = 0.1
#: Chats remembered at most before those that may receive again are forgotten.
FORGET_AFTER = 1024


class Ticket:
    """One started message: when its answer came (None while it is awaited)."""

    __slots__ = ("answered",)

    def __init__(self) -> None:
        self.answered: float | None = None


class Pacer:
    """When each message may start: evenly spaced at the rate; a window after the answer to the
    message `burst` places before (see above); one per `chat_gap` per chat; nothing before a
    429's `retry_after`.  `started` says a message left (and gives its Ticket), `answered` that
    its answer came; the sender calls them in order, from one event loop.

    The even spacing counts from the last real start, and a start later than it could have been
    is credited (at most DEBT of a window): the next messages follow each other closer, down to
    1/CATCH_UP of the spacing, until the credit is spent."""

    def __init__(self, rate: float, chat_gap: float, clock: Callable[[], float] = time.monotonic):
        rate = max(rate, 0.001)
        self.burst = max(1, int(rate))  # messages in one window
        self.window = max(1.0, self.burst / rate)  # never under a second: `burst` <= rate per second
        self.gap = self.window / self.burst  # the even spacing
        self.chat_gap, self.clock = chat_gap, clock
        self.last: float | None = None  # the last start
        self.recent: deque[Ticket] = deque()  # the last `burst` - 1 messages, and any older one not answered yet
        self.answered_by = -math.inf  # the latest answer to a message `burst` or more places back
        self.credit = 0.0  # seconds lost to late starts, to be made up
        self.held = 0.0  # nothing starts before this (a 429)
        self.chats: dict[str, float] = {}

    def ready(self, chat: str) -> float:
        """When this chat may receive its next message."""
        return self.chats.get(chat, 0.0)

    def due(self, chat: str) -> float:
        """The earliest start of a message to `chat` (now, or later; infinity while an answer is awaited)."""
        closer = min(self.credit, self.gap - self.gap / CATCH_UP)
        return max(self.clock(), self._even(chat) - closer, self._window_end())

    def _even(self, chat: str) -> float:
        """When the message could start without making anything up."""
        after = self.last + self.gap if self.last is not None else 0.0
        return max(after, self._window_end(), self.held, self.ready(chat))

    def _window_end(self) -> float:
        while len(self.recent) >= self.burst:  # the oldest is `burst` places back from the next message
            answered = self.recent[0].answered
            if answered is None:
                return math.inf
            self.answered_by = max(self.answered_by, answered)
            self.recent.popleft()
        return self.answered_by + self.window

    def started(self, chat: str) -> Ticket:
        """A message to `chat` left now."""
        now = self.clock()
        if self.last is not None:  # later than it could have been: credit; earlier (making up): debit
            self.credit = min(DEBT * self.window, max(0.0, self.credit + now - self._even(chat)))
        self.last = now
        ticket = Ticket()
        self.recent.append(ticket)
        self.chats[chat] = now + self.chat_gap
        if len(self.chats) > FORGET_AFTER:  # forget chats that may receive again
            self.chats = {c: at for c, at in self.chats.items() if at > now}
        return ticket

    def answered(self, ticket: Ticket) -> None:
        """The message's answer (any: sent, refused, failed) came now."""
        if ticket.answered is None:
            ticket.answered = self.clock()

    def hold(self, seconds: float) -> None:
        self.held = max(self.held, self.clock() + seconds)
