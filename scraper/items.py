"""Typed records that leave the spider.

The spider yields `RawRound` items (one per round, as published) and exactly one `FeedOutcome`.
The parse pipeline turns each `RawRound` into a `draws.record.Draw` (or sets it aside as
`draws.record.Malformed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RawRound:
    """A round as it appears in the feed, with its position (0 = newest)."""

    position: int
    raw: Any


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What the fetch itself came to.

    status: "fetched" (a new body with `rounds` rounds), "unchanged" (304 or the same body),
    "failed" (could not be fetched) or "rejected" (fetched but not a usable feed).
    """

    status: str
    reason: str = ""
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    rounds: int = 0
