"""Where a score stands in one of IRCC's pool distributions (the counts per CRS band published with
the draws, `dd1`…`dd18`), and how that changed since the distribution before: what a pool alert
and a digest say.  Pure arithmetic on IRCC's bands, checked by hand on the real snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crswatch.draws.record import FINE_BANDS


def _floor(band: str) -> int:
    return int(band.split("-")[0])


def _ceiling(band: str) -> int:
    return int(band.split("-")[1])


def band_of(score: int) -> str:
    """The finest IRCC band holding `score` (bands do not overlap in FINE_BANDS)."""
    return next(b for b in FINE_BANDS if _floor(b) <= score)


def at_or_above(pool: Mapping[str, int], band: str) -> int:
    """Candidates in `band` or any band above it, by IRCC's counts."""
    return sum(int(pool.get(b) or 0) for b in FINE_BANDS if _floor(b) >= _floor(band))


def rank(pool: Mapping[str, int], score: int) -> int:
    """An estimated rank: everyone in the bands above, plus the share of one's own band above
    one's score if its candidates were spread evenly over its scores, plus one."""
    band = band_of(score)
    above = at_or_above(pool, band) - int(pool.get(band) or 0)
    width = _ceiling(band) - _floor(band) + 1
    share = (min(_ceiling(band), 1200) - min(score, _ceiling(band))) / width
    return above + round(int(pool.get(band) or 0) * share) + 1


def about(number: int) -> int:
    """A rank rounded to what an estimate can claim: three significant figures."""
    if number < 1000:
        return number
    step: int = 10 ** (len(str(number)) - 3)
    return round(number / step) * step


@dataclass(frozen=True)
class Standing:
    """Where a score stands in one distribution, and how that changed since the one before."""

    score: int
    band: str
    count: int
    change: int | None
    rank: int

    def to_doc(self) -> dict[str, Any]:
        return {"score": self.score, "band": self.band, "count": self.count, "change": self.change, "rank": self.rank}


class Standings:
    """`standing` for one distribution, worked out once per score: 100,000 subscribers share at
    most 1,201 scores."""

    def __init__(self, pool: Mapping[str, int], previous: Mapping[str, int] | None) -> None:
        self.pool, self.previous = pool, previous
        self.known: dict[int, dict[str, Any]] = {}

    def doc(self, score: int) -> dict[str, Any]:
        found = self.known.get(score)
        if found is None:
            found = self.known[score] = standing(self.pool, self.previous, score).to_doc()
        return found


def standing(pool: Mapping[str, int], previous: Mapping[str, int] | None, score: int) -> Standing:
    band = band_of(score)
    count = at_or_above(pool, band)
    change = count - at_or_above(previous, band) if previous else None
    return Standing(score, band, count, change, about(rank(pool, score)))


def published(pool: Mapping[str, int] | None) -> bool:
    """A distribution with figures (the oldest rounds carry all zeros)."""
    return bool(pool) and int((pool or {}).get("total") or 0) > 0
