"""Item pipelines: parse raw rounds into `Draw`s and gather the run's harvest.

The harvest is handed to the caller through `crawler.harvest` (see `scraper.crawl`); storing it
is the app's job (`crswatch.cycle`), which owns the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crswatch.draws.record import Draw, Malformed
from crswatch.draws.streams import BUILTIN, StreamMap
from crswatch.draws.text import QUOTE_LIMIT, normal_number

from .items import FeedOutcome, RawRound
from .parse import FeedError, RoundError, parse_round, vet_round

log = logging.getLogger(__name__)


@dataclass
class Harvest:
    """Everything one fetch produced."""

    outcome: FeedOutcome | None = None
    draws: list[Draw] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ParsePipeline:
    """RawRound → Draw; a round that cannot be read, or cannot be true, becomes `Malformed`.

    Nothing is ever dropped here: whatever goes wrong with one round, it reaches the harvest as
    a `Draw` or as a `Malformed` that the cycle reports and holds.  The stream names come from
    the `CRSWATCH_STREAMS` setting (the built-in table plus the operator's `[streams]`)."""

    def __init__(self, streams: StreamMap = BUILTIN, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.streams = streams
        self.now = now

    @classmethod
    def from_crawler(cls, crawler: Any) -> ParsePipeline:
        return cls(crawler.settings.get("CRSWATCH_STREAMS") or BUILTIN)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RawRound):
            return item
        number = item.raw.get("drawNumber") if isinstance(item.raw, dict) else None
        number = normal_number(str(number))[:40] if isinstance(number, str | int | float) else None  # as it is stored
        try:
            draw = parse_round(item.raw, self.streams)
            vet_round(draw, self.now())
        except Exception as exc:  # noqa: BLE001 — a round is held with a reason, never lost
            reason = (
                str(exc)
                if isinstance(exc, RoundError)
                else f"could not be read ({type(exc).__name__}: {str(exc)[:QUOTE_LIMIT]})"
            )
            log.info("round at position %d (number %r) held: %s", item.position, number, reason)
            return Malformed(item.position, number or None, reason)
        for warning in draw.warnings:
            log.warning("round %s: %s", draw.number, warning)
        return draw


class HarvestPipeline:
    """Collects the parsed items on the crawler for the caller."""

    def __init__(self, harvest: Harvest):
        self.harvest = harvest

    @classmethod
    def from_crawler(cls, crawler: Any) -> HarvestPipeline:
        crawler.harvest = Harvest()
        return cls(crawler.harvest)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Draw):
            self.harvest.draws.append(item)
            self.harvest.warnings.extend(f"round {item.number}: {w}" for w in item.warnings)
        elif isinstance(item, Malformed):
            self.harvest.malformed.append(item)
        elif isinstance(item, FeedOutcome):
            self.harvest.outcome = item
        return item


#: A feed listing fewer rounds than this share of the stored ones is rejected (a truncated feed).
MIN_SHARE = 0.9
#: A feed in which more than this share of rounds cannot be read is rejected as malformed.
MAX_MALFORMED_SHARE = 0.5


def vet_harvest(harvest: Harvest, stored: int) -> None:
    """FeedError when a fetched feed must not be merged (truncated, mostly unreadable)."""
    outcome = harvest.outcome
    listed = outcome.rounds if outcome else 0
    if listed and len(harvest.malformed) > listed * MAX_MALFORMED_SHARE:
        raise FeedError(f"{len(harvest.malformed)} of {listed} rounds could not be read")
    if stored >= 10 and listed < stored * MIN_SHARE:
        raise FeedError(f"the feed lists {listed} rounds but {stored} are stored: it looks truncated")
