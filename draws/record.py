"""The draw record every stage shares: a round of invitations as parsed, the pool bands, the
rounds set aside, and how times are written in records.

`Draw` is what the scraper yields and the draws table stores (`to_record`/`from_record`); the
notifier, the history and the web read it back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, NotRequired, TypedDict, cast
from zoneinfo import ZoneInfo

#: Names of the pool-distribution bands dd1..dd18, in feed order.
POOL_BANDS: tuple[str, ...] = (
    "601-1200", "501-600", "451-500", "491-500", "481-490", "471-480", "461-470", "451-460",
    "401-450", "441-450", "431-440", "421-430", "411-420", "401-410", "351-400", "301-350",
    "0-300", "total",
)  # fmt: skip
#: The ten-point bands IRCC also sums into 451-500 and 401-450 (shown indented under them).
SUB_BANDS: frozenset[str] = frozenset(f"{low}-{low + 9}" for low in range(401, 500, 10))
#: The bands that do not overlap, highest first: every profile is in exactly one.
FINE_BANDS: tuple[str, ...] = tuple(b for b in POOL_BANDS if b not in ("451-500", "401-450", "total"))


_Date = date


class DrawRecord(TypedDict):
    """A draw as a plain record (`Draw.to_record`): what the draws table keeps and JSON output
    prints.  Dates are ISO 8601, moments UTC written Z.  The keys after `crs` came with later
    releases: a record an earlier one wrote may lack them."""

    number: str
    date: str
    program: str
    stream: str
    invitations: int
    crs: int
    drawn_at: NotRequired[str | None]
    tie_break: NotRequired[str | None]
    eligible_programs: NotRequired[list[str]]
    url: NotRequired[str | None]
    pool: NotRequired[dict[str, int] | None]
    pool_as_of: NotRequired[str | None]
    raw: NotRequired[dict[str, Any]]


class StoredDraw(DrawRecord):
    """A draw as the draws table keeps it: its record, when this host first saw it and last saw it
    change (`stamp`s), and how many times it changed (0: as first published)."""

    first_seen: NotRequired[str]
    updated_at: NotRequired[str]
    revision: NotRequired[int]
    recognised_at: NotRequired[str]  # a draw stored as `other` whose name an operator's [streams] came to know
    stream_was: NotRequired[str]


def as_stored(record: DrawRecord, *, first_seen: str, updated_at: str, revision: int) -> StoredDraw:
    """A draw's record with the table's bookkeeping (added to `record` itself: give it a fresh one)."""
    stored = cast(StoredDraw, record)  # (its own keys are a StoredDraw's; the bookkeeping follows)
    stored["first_seen"], stored["updated_at"], stored["revision"] = first_seen, updated_at, revision
    return stored


def stored_draw(doc: Mapping[str, Any]) -> StoredDraw:
    """A draws-table document (TinyDB gives plain dicts) as the record it is: the table has one
    writer (`draws.table`), which writes only `StoredDraw`s, so this checks nothing at run time."""
    return cast(StoredDraw, dict(doc))


@dataclass(frozen=True, slots=True)
class Draw:
    """One round of invitations, parsed.  `raw` is the round exactly as published."""

    number: str
    date: date
    program: str
    stream: str
    invitations: int
    crs: int
    drawn_at: datetime | None = None
    tie_break: datetime | None = None
    eligible_programs: tuple[str, ...] = ()
    url: str | None = None
    pool: dict[str, int] | None = None
    pool_as_of: _Date | None = None  # (`date` is a field's name in here)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_record(self) -> DrawRecord:
        """A plain dict for storage and JSON output (dates as ISO 8601, datetimes in UTC)."""
        return {
            "number": self.number,
            "date": self.date.isoformat(),
            "drawn_at": iso(self.drawn_at),
            "program": self.program,
            "stream": self.stream,
            "invitations": self.invitations,
            "crs": self.crs,
            "tie_break": iso(self.tie_break),
            "eligible_programs": list(self.eligible_programs),
            "url": self.url,
            "pool": self.pool,
            "pool_as_of": self.pool_as_of.isoformat() if self.pool_as_of else None,
            "raw": self.raw,
        }

    @classmethod
    def from_record(cls, rec: DrawRecord) -> Draw:
        return cls(
            number=rec["number"],
            date=date.fromisoformat(rec["date"]),
            program=rec["program"],
            stream=rec["stream"],
            invitations=rec["invitations"],
            crs=rec["crs"],
            drawn_at=from_iso(rec.get("drawn_at")),
            tie_break=from_iso(rec.get("tie_break")),
            eligible_programs=tuple(rec.get("eligible_programs") or ()),
            url=rec.get("url"),
            pool=rec.get("pool"),
            pool_as_of=date.fromisoformat(as_of) if (as_of := rec.get("pool_as_of")) else None,
            raw=rec.get("raw") or {},
        )


@dataclass(frozen=True, slots=True)
class Malformed:
    """A round that could not be read; it is set aside and picked up again once fixed."""

    position: int
    number: str | None
    reason: str


def iso(value: datetime | None) -> str | None:
    """A moment as the records keep it: ISO 8601, UTC written Z (None stays None)."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def stamp(moment: datetime) -> str:
    """A bookkeeping time (first seen, queued, next try…): UTC, always with microseconds, so that
    these strings sort and compare in time order."""
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_iso(value: str | None) -> datetime | None:
    """A moment a record keeps (`iso` or `stamp`), read back; None or empty stays None."""
    return datetime.fromisoformat(value) if value else None


#: IRCC's dates are Ottawa's, and Ottawa keeps Toronto's time.
OTTAWA = ZoneInfo("America/Toronto")


def ottawa_today(now: datetime | None = None) -> date:
    """Today in Ottawa (a draw's date, "overdue"…), whatever the machine's time zone; `now` (aware)
    for tests' clocks."""
    return (now or datetime.now(UTC)).astimezone(OTTAWA).date()


def ottawa_midnight(day: date) -> datetime:
    """When `day` began in Ottawa, in UTC."""
    return datetime.combine(day, time(), OTTAWA).astimezone(UTC)


def draw_order(draw: Draw | dict[str, Any]) -> tuple[Any, ...]:
    """Oldest first: by date, then number in natural order (91 < 91a < 91b < 92)."""
    number = draw.number if isinstance(draw, Draw) else draw["number"]
    day = draw.date.isoformat() if isinstance(draw, Draw) else draw["date"]
    match = re.match(r"(\d*)(.*)", number)
    assert match is not None
    return (day, int(match[1] or 0), match[2])
