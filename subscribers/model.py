"""The subscriber record: who to alert, at which CRS score, for which streams, through which channels."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NotRequired, TypedDict

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


class ChannelDoc(TypedDict):
    """A channel in a `SubscriberDoc`: its masked form, and its URL or its key (never both needed)."""

    masked: str
    url: NotRequired[str]  # where it is sent (the records planning reads carry the key instead)
    key: NotRequired[str]  # the destination's hash (`channel_hash`)


class SubscriberDoc(TypedDict):
    """A subscriber as a plain record: what the store's readers give the planning (matching a
    draw reads 100,000 of them: a dict is cheaper than a `Subscriber`), and `Subscriber.to_doc`.
    The keys marked NotRequired are absent from the planning's leaner reads or from records of
    earlier releases."""

    id: str
    score: int
    within: int
    streams: list[str]
    profile_created: datetime | None
    created_at: datetime
    channels: list[ChannelDoc]
    status: NotRequired[str]
    language: NotRequired[str | None]
    profile: NotRequired[str | None]
    cadence: NotRequired[str | None]
    pool_alerts: NotRequired[bool | None]
    name: NotRequired[str | None]
    profile_ceiling: NotRequired[int | None]
    reminders: NotRequired[bool | None]
    token_hash: NotRequired[str]
    token: NotRequired[str]  # stored in clear before 0.2


@dataclass(frozen=True, slots=True)
class Channel:
    """An apprise URL (secret: passwords, tokens) and its masked form, made once when stored."""

    url: str
    masked: str

    def __repr__(self) -> str:  # never let a secret slip into a log line or traceback
        return f"Channel({self.masked!r})"


@dataclass(frozen=True, slots=True)
class Subscriber:
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
        return tuple(c.url for c in self.channels)

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

    def to_doc(self) -> SubscriberDoc:
        return {
            "id": self.id,
            "name": self.name,
            "score": self.score,
            "within": self.within,
            "streams": list(self.streams),
            "profile_created": self.profile_created,
            "channels": [{"url": c.url, "masked": c.masked} for c in self.channels],
            "created_at": self.created_at,
            "status": self.status,
            "language": self.language,
            "profile": self.profile,
            "profile_ceiling": self.profile_ceiling,
            "reminders": self.reminders,
            "cadence": self.cadence,
            "pool_alerts": self.pool_alerts,
            "token_hash": self.token_hash,
        }

    @classmethod
    def from_doc(cls, doc: SubscriberDoc) -> Subscriber:
        return cls(
            id=doc["id"],
            name=doc.get("name"),
            score=doc["score"],
            within=doc["within"],
            streams=tuple(doc["streams"]),
            profile_created=doc.get("profile_created"),
            channels=tuple(Channel(c["url"], c["masked"]) for c in doc["channels"]),
            created_at=doc["created_at"],
            status=doc.get("status", ACTIVE),
            language=doc.get("language") or "en",
            profile=doc.get("profile"),
            profile_ceiling=doc.get("profile_ceiling"),
            reminders=doc.get("reminders"),
            cadence=doc.get("cadence") or INSTANT,
            pool_alerts=bool(doc.get("pool_alerts")),
            token_hash=doc.get("token_hash") or hash_token(doc["token"]),  # "token": stored in clear before 0.2
        )
