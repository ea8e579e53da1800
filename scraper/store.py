"""Keep the draw history in the `draws` table: idempotent merges, revisions, never a deletion.

Works on a TinyDB handle it is given (opening the database is the app's job).  Every merge is a
batch: one pass over what is stored, one `insert_multiple`, one update per changed draw, all in
the caller's single transaction (so one file write).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tinydb import TinyDB

from .items import Draw, Malformed, stamp
from .parse import FeedError
from .pipelines import Harvest

DRAWS = "draws"
REVISIONS = "draw_revisions"

#: A feed listing fewer rounds than this share of the stored ones is rejected (a truncated feed).
MIN_SHARE = 0.9
#: A feed in which more than this share of rounds cannot be read is rejected as malformed.
MAX_MALFORMED_SHARE = 0.5


@dataclass
class Changes:
    """What one merge did: draws first seen now, draws IRCC edited, and how many stayed put."""

    new: list[Draw] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, Any]]] = field(default_factory=list)  # (draw, old record)
    unchanged: int = 0
    malformed: list[Malformed] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.new)} new, {len(self.changed)} changed, {self.unchanged} unchanged"
        if self.malformed:
            text += f", {len(self.malformed)} malformed set aside"
        return text


def vet_harvest(harvest: Harvest, stored: int) -> None:
    """FeedError when a fetched feed must not be merged (truncated, mostly unreadable)."""
    outcome = harvest.outcome
    listed = outcome.rounds if outcome else 0
    if listed and len(harvest.malformed) > listed * MAX_MALFORMED_SHARE:
        raise FeedError(f"{len(harvest.malformed)} of {listed} rounds could not be read")
    if stored >= 10 and listed < stored * MIN_SHARE:
        raise FeedError(f"the feed lists {listed} rounds but {stored} are stored: it looks truncated")


def count_draws(db: TinyDB) -> int:
    return len(db.table(DRAWS))


def merge_draws(db: TinyDB, draws: Iterable[Draw], now: datetime, malformed: Iterable[Malformed] = ()) -> Changes:
    """Store new draws, update edited ones (old version to the revision log), delete nothing."""
    table = db.table(DRAWS)
    stored = {doc["number"]: doc for doc in table.all()}
    changes = Changes(malformed=list(malformed))
    fresh: list[dict[str, Any]] = []
    edited: dict[str, dict[str, Any]] = {}  # number → new record
    edited_ids: list[int] = []
    numbers: set[str] = set()
    seen = stamp(now)
    for draw in draws:
        if draw.number in numbers:
            continue  # the feed repeated a round: the first (newest) copy wins
        numbers.add(draw.number)
        old = stored.get(draw.number)
        if old is None:
            fresh.append(draw.to_record() | {"first_seen": seen, "updated_at": seen, "revision": 0})
            changes.new.append(draw)
        elif old.get("raw") != draw.raw:
            record = draw.to_record() | {
                "first_seen": old.get("first_seen", seen),
                "updated_at": seen,
                "revision": old.get("revision", 0) + 1,
            }
            edited[draw.number] = record
            edited_ids.append(old.doc_id)
            changes.changed.append((draw, dict(old)))
        else:
            changes.unchanged += 1
    if fresh:
        table.insert_multiple(fresh)
    if edited:  # one update and one insert for all edited draws, however many
        table.update(lambda doc: doc.update(edited[doc["number"]]), doc_ids=edited_ids)
        db.table(REVISIONS).insert_multiple(
            {"number": draw.number, "replaced_at": seen, "record": old} for draw, old in changes.changed
        )
    changes.new.sort(key=draw_order)
    return changes


def draw_order(draw: Draw | dict[str, Any]) -> tuple[Any, ...]:
    """Oldest first: by date, then number in natural order (91 < 91a < 91b < 92)."""
    number = draw.number if isinstance(draw, Draw) else draw["number"]
    day = draw.date.isoformat() if isinstance(draw, Draw) else draw["date"]
    match = re.match(r"(\d*)(.*)", number)
    assert match is not None
    return (day, int(match[1] or 0), match[2])


def query_draws(
    db: TinyDB,
    streams: Iterable[str] = (),
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored draw records, newest first, filtered by stream and date range."""
    wanted = set(streams)
    low = since.isoformat() if since else ""
    high = until.isoformat() if until else "9999"
    rows = [
        doc
        for doc in db.table(DRAWS).all()
        if (not wanted or doc["stream"] in wanted) and low <= doc["date"] <= high
    ]
    rows.sort(key=draw_order, reverse=True)
    return rows[:limit] if limit else rows


def find_draw(db: TinyDB, number: str) -> dict[str, Any] | None:
    number = number.strip().lstrip("#")
    for doc in db.table(DRAWS).all():
        if doc["number"] == number:
            return doc
    return None


def revisions_of(db: TinyDB, number: str) -> list[dict[str, Any]]:
    return [doc for doc in db.table(REVISIONS).all() if doc["number"] == number]
