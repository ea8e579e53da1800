"""Item pipelines: parse raw rounds into `Draw`s and gather the run's harvest.

The harvest is handed to the caller through `crawler.harvest` (see `scraper.crawl`); storing it
is the app's job (`crswatch.cycle`), which owns the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .items import Draw, FeedOutcome, Malformed, RawRound
from .parse import RoundError, parse_round

log = logging.getLogger(__name__)


@dataclass
class Harvest:
    """Everything one fetch produced."""

    outcome: FeedOutcome | None = None
    draws: list[Draw] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ParsePipeline:
    """RawRound → Draw; a round that cannot be read becomes `Malformed` (with a warning)."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RawRound):
            return item
        try:
            draw = parse_round(item.raw)
        except RoundError as exc:
            number = item.raw.get("drawNumber") if isinstance(item.raw, dict) else None
            log.warning("round at position %d (number %r) set aside: %s", item.position, number, exc)
            return Malformed(item.position, str(number) if number else None, str(exc))
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
