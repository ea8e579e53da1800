"""The subscriber record: who to alert, at which CRS score, for which streams, through which channels."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .identity import destination_key

DEFAULT_WITHIN = 10  # points below the cut-off that still deserve a "close" alert
DEFAULT_STREAMS = ("cec", "fsw", "fst")
ACTIVE, PAUSED = "active", "paused"
BLOCKED = "blocked"  # a Telegram chat that blocked the bot: nothing is sent until it resumes
#: The languages alerts, confirmations and pages are written in (gettext catalogues for each but English).
LANGUAGES = ("en", "fr")
#: How often a subscriber hears from crswatch: every alert at once, or a digest a day or a week (an
#: invitation always goes out at once, whatever the cadence).
INSTANT, DAILY, WEEKLY = "instant", "daily", "weekly"
CADENCES = (INSTANT, DAILY, WEEKLY)

_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read aloud and typed


def new_id() -> str:
    """A short random id such as `k7fq2mxa` (32^8 ≈ 10^12 values; collisions are checked)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def new_token(subscriber_id: str) -> str:
    """An unsubscribe token: the id, a dot, and 192 random bits (the id locates the record)."""
    return f"{subscriber_id}.{secrets.token_urlsafe(24)}"


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (a leaked database reveals no usable token)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Channel:
    """A way to reach a subscriber: the destination's key (`identity.destination_key`, which the
    outbox names it by), its masked form, and its apprise URL (secret: passwords, tokens). The
    readers that plan pool alerts and digests leave the URL out (None) and give the key the table
    holds; the others make it from the URL (see `store.read`)."""

    key: str
    masked: str
    url: str | None = None

    @classmethod
    def of(cls, url: str, masked: str) -> Channel:
        return cls(destination_key(url), masked, url)

    @property
    def destination(self) -> str:
        """The URL, for what sends or edits (every reader but the planning's lean one gives it)."""
        if self.url is None:
            raise LookupError(f"channel {self.masked} was read without its URL")
        return self.url

    def __repr__(self) -> str:  # never let a secret slip into a log line or traceback
        return f"Channel({self.masked!r})"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber, as every stage reads it (the store's readers make it from its rows; matching
    a draw or planning a digest reads up to 100,000)."""

    id: str
    score: int
    channels: tuple[Channel, ...]
    created_at: datetime
    token_hash: str
    within: int = DEFAULT_WITHIN
    streams: tuple[str, ...] = DEFAULT_STREAMS
    name: str | None = None
    profile_created: datetime | None = None
    status: str = ACTIVE
    language: str = "en"  # one of LANGUAGES: what its messages are written in
    profile: str | None = None  # a CRS profile (draws.crs, as compact JSON): verdicts use its score on each draw's date
    profile_ceiling: int | None = None  # the most that profile can score in the years ahead (the matching pre-filter)
    reminders: bool | None = None  # reminders of what changes the score; None: the default (on with a profile)
    cadence: str = INSTANT  # one of CADENCES
    pool_alerts: bool = False  # tell them when IRCC publishes a new pool distribution (opt-in)
    token: str | None = field(default=None, compare=False)  # the token itself: only when just made, never stored

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(c.destination for c in self.channels)

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def wants_reminders(self) -> bool:
        return self.reminders if self.reminders is not None else self.profile is not None

    def with_changes(self, **changes: Any) -> Subscriber:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def __repr__(
        self,
    ) -> str:  # a profile is personal data (a date of birth, test scores): never in a log line or traceback
        return f"Subscriber(id={self.id!r}, score={self.score!r}, from_profile={self.profile is not None})"
