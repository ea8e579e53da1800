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
from typing import Any, Protocol

from tinydb.table import Table

from .record import Draw, Malformed, stamp
from .streams import OTHER, StreamMap


class Tables(Protocol):
    """What this module needs of the draws file: its TinyDB tables by name (`store.draws`'s
    transactions and read-only views are such)."""

    def table(self, name: str) -> Table: ...


DRAWS = "draws"
REVISIONS = "draw_revisions"

@dataclass
class Changes:
    """What one merge did: draws first seen now, draws IRCC edited, and how many stayed put."""

    new: list[Draw] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, Any]]] = field(default_factory=list)  # (draw, old record)
    unchanged: int = 0
    malformed: list[Malformed] = field(default_factory=list)  # held: unreadable, implausible, or an edit to look at
    recognised: list[tuple[Draw, dict[str, Any]]] = field(default_factory=list)  # (draw, record while `other`)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # number → the record as now stored, new and changed ones

    def new_records(self) -> list[tuple[Draw, dict[str, Any]]]:
        return [(draw, self.stored[draw.number]) for draw in self.new]

    def changed_records(self) -> list[tuple[Draw, dict[str, Any], dict[str, Any]]]:
        """(draw, record now, record before) for every edited draw."""
        return [(draw, self.stored[draw.number], old) for draw, old in self.changed]

    def summary(self) -> str:
        text = f"{len(self.new)} new, {len(self.changed)} changed, {self.unchanged} unchanged"
        if self.recognised:
            text += f", {len(self.recognised)} recognised"
        if self.malformed:
            text += f", {len(self.malformed)} held"
        return text


def merge_draws(
    db: Tables, draws: Iterable[Draw], now: datetime, malformed: Iterable[Malformed] = (), accept: Iterable[str] = ()
) -> Changes:
    """Store new draws, update edited ones (old version to the revision log), delete nothing.

    An edit that moves a stored draw to another date or another stream is not a correction to
    send to everyone but something for the operator to look at: it is held (`Changes.malformed`)
    unless its number is in `accept`."""
    accepted = set(accept)
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
            changes.stored[draw.number] = fresh[-1]
        elif old.get("raw") != draw.raw:
            doubt = doubtful_edit(old, draw)
            if doubt and draw.number not in accepted:
                changes.malformed.append(Malformed(-1, draw.number, f"edit held for the operator: {doubt} (accept with: crswatch check --accept-edit {draw.number})"))
                changes.unchanged += 1
                continue
            record = draw.to_record() | {
                "first_seen": old.get("first_seen", seen),
                "updated_at": seen,
                "revision": old.get("revision", 0) + 1,
            }
            edited[draw.number] = changes.stored[draw.number] = record
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


def doubtful_edit(old: dict[str, Any], draw: Draw) -> str | None:
    """Why an edit of a stored draw needs an operator's look (another date or stream), or None.

    Dates are compared as dates: IRCC once rewrote "2023-04-12" as "12-04-2023", the same day.
    A draw stored as `other` may take a known stream: that is the name being recognised."""
    if old.get("date") != draw.date.isoformat():
        return f"#{draw.number} moved from {old.get('date')} to {draw.date.isoformat()}"
    if old.get("stream") not in (draw.stream, OTHER):
        return f"#{draw.number} moved from stream {old.get('stream')} to {draw.stream}"
    return None


def recognise(db: Tables, streams: StreamMap, now: datetime) -> list[tuple[Draw, dict[str, Any]]]:
    """Draws stored as `other` whose name `streams` now knows: re-classified in this transaction.

    Returns (draw as re-classified, record as it was).  Each draw leaves `other` once, so a
    mapping that changes again later re-classifies nothing twice."""
    table = db.table(DRAWS)
    found = [(doc, code) for doc in table.all() if doc["stream"] == OTHER and (code := streams.code_of(doc["program"])) not in (None, OTHER)]
    if not found:
        return []
    seen = stamp(now)
    updates = {doc["number"]: {"stream": code, "recognised_at": seen, "stream_was": OTHER} for doc, code in found}
    table.update(lambda doc: doc.update(updates[doc["number"]]), doc_ids=[doc.doc_id for doc, _ in found])
    return [(Draw.from_record(dict(doc) | updates[doc["number"]]), dict(doc)) for doc, _ in found]


def draw_order(draw: Draw | dict[str, Any]) -> tuple[Any, ...]:
    """Oldest first: by date, then number in natural order (91 < 91a < 91b < 92)."""
    number = draw.number if isinstance(draw, Draw) else draw["number"]
    day = draw.date.isoformat() if isinstance(draw, Draw) else draw["date"]
    match = re.match(r"(\d*)(.*)", number)
    assert match is not None
    return (day, int(match[1] or 0), match[2])


def query_draws(
    db: Tables,
    streams: Iterable[str] = (),
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored draw records, newest first, filtered by stream and date range."""
    wanted = set(streams)
    low = since.isoformat() if since else ""
    high = until.isoformat() if until else "9999"
    rows: list[dict[str, Any]] = [
        doc
        for doc in db.table(DRAWS).all()
        if (not wanted or doc["stream"] in wanted) and low <= doc["date"] <= high
    ]
    rows.sort(key=draw_order, reverse=True)
    return rows[:limit] if limit else rows


def find_draw(db: Tables, number: str) -> dict[str, Any] | None:
    number = number.strip().lstrip("#")
    for doc in db.table(DRAWS).all():
        if doc["number"] == number:
            return doc
    return None


def names_seen(db: Tables) -> list[dict[str, Any]]:
    """Every (stream, draw name) stored: how many draws, the last date, their numbers (newest first)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for doc in db.table(DRAWS).all():
        groups.setdefault((doc["stream"], doc["program"]), []).append(doc)
    out = []
    for (stream, name), docs in groups.items():
        docs.sort(key=draw_order, reverse=True)
        out.append({"stream": stream, "name": name, "draws": len(docs), "last": docs[0]["date"], "numbers": [d["number"] for d in docs]})
    out.sort(key=lambda n: n["last"], reverse=True)  # the wording in use now first
    return out


def revisions_of(db: Tables, number: str) -> list[dict[str, Any]]:
    return [doc for doc in db.table(REVISIONS).all() if doc["number"] == number]
