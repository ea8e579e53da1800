"""Keep the draw history in the `draws` table: idempotent merges, revisions, never a deletion.

Works on a TinyDB handle it is given (opening the database is the app's job).  Every merge is a
batch: one pass over what is stored, one `insert_multiple`, one update per changed draw, all in
the caller's single transaction (so one file write).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

from tinydb.table import Document, Table

from .guard import Changes, Rules, content, doubtful_edit, hold_new, listed_once, renumbered
from .record import Draw, Malformed, StoredDraw, as_stored, draw_order, stamp, stored_draw
from .streams import OTHER, StreamMap
from .text import normal_number


class Tables(Protocol):
    """What this module needs of the draws file: its TinyDB tables by name (`store.draws`'s
    transactions and read-only views are such)."""

    def table(self, name: str) -> Table: ...


DRAWS = "draws"
REVISIONS = "draw_revisions"


def merge_draws(
    db: Tables,
    draws: Iterable[Draw],
    now: datetime,
    malformed: Iterable[Malformed] = (),
    accept: Iterable[str] = (),
    accept_new: Iterable[str] = (),
    rules: Rules = Rules(),
) -> Changes:
    """Store new draws, update edited ones (old version to the revision log), delete nothing.

    Numbers are compared normalised (`normal_number`): "0392" and "392\u200b" are draw 392.
    Held for the operator (`Changes.malformed`), unless accepted:

    - an edit that moves a stored draw to another date or another stream (`accept`: its number);
    - a round listed twice with different data (`accept`: its number takes the first copy);
    - more than `rules.max_new` new draws dated on or before the newest stored one, or a new draw
      older than the newest stored one by more than `rules.max_back` (`accept_new`: its number,
      or "all"): what a renumbered feed looks like.  Never on a first ingest (nothing stored),
      which alerts nobody anyway.

    A "new" number that matches a stored draw no longer listed on date, program, cut-off and size
    is that draw renumbered: nothing changes (`Changes.renumbered`).  An edit back to a version
    this draw had before (a CDN edge serving an old copy) is stored but is no correction
    (`Changes.returned`), and the revision log keeps each version once."""
    accepted = {normal_number(number) for number in accept}
    table = db.table(DRAWS)
    docs = table.all()
    stored = {normal_number(doc["number"]): doc for doc in docs}
    changes = Changes(malformed=list(malformed))
    listed = listed_once(draws, accepted, changes)
    seen = stamp(now)
    edited, edited_ids, replaced = _edits(db, listed, stored, accepted, seen, changes)
    candidates = [draw for draw in listed if draw.number not in stored]
    numbers = {draw.number for draw in listed}
    unlisted = [doc for number, doc in stored.items() if number not in numbers]
    new = renumbered(candidates, unlisted, changes)
    if docs:
        new = hold_new(new, docs, set(accept_new), rules, changes)
    fresh = [as_stored(draw.to_record(), first_seen=seen, updated_at=seen, revision=0) for draw in new]
    for draw, record in zip(new, fresh, strict=True):
        changes.new.append(draw)
        changes.stored[draw.number] = record
    if fresh:
        table.insert_multiple(fresh)
    if edited:  # one update and one insert for all edited draws, however many
        table.update(lambda doc: doc.update(edited[normal_number(doc["number"])]), doc_ids=edited_ids)
    if replaced:
        db.table(REVISIONS).insert_multiple(
            {"number": number, "replaced_at": seen, "record": old} for number, old in replaced
        )
    changes.new.sort(key=draw_order)
    return changes


def _edits(
    db: Tables, listed: list[Draw], stored: dict[str, Document], accepted: set[str], seen: str, changes: Changes
) -> tuple[dict[str, StoredDraw], list[int], list[tuple[str, StoredDraw]]]:
    """The listed draws already stored, compared with their stored copy (see `merge_draws`): the new
    record of each edited draw by number, their doc ids, and (number, record replaced) for the
    revision log.  Writes nothing."""
    log = _RevisionLog(db)
    edited: dict[str, StoredDraw] = {}  # number → new record
    edited_ids: list[int] = []
    replaced: list[tuple[str, StoredDraw]] = []  # (number, record replaced) for the revision log
    for draw in listed:
        old = stored.get(draw.number)
        if old is None:
            continue
        if content(old.get("raw")) == content(draw.raw):
            changes.unchanged += 1
            continue
        earlier = log.has(draw.number, content(draw.raw))
        doubt = None if earlier else doubtful_edit(old, draw)
        if doubt and draw.number not in accepted:
            changes.malformed.append(
                Malformed(
                    -1,
                    draw.number,
                    f"edit held for the operator: {doubt} (accept with: crswatch check --accept-edit {draw.number})",
                )
            )
            changes.unchanged += 1
            continue
        record = as_stored(
            draw.to_record(),
            first_seen=old.get("first_seen", seen),
            updated_at=seen,
            revision=old.get("revision", 0) + 1,
        )
        edited[draw.number] = changes.stored[draw.number] = record
        edited_ids.append(old.doc_id)
        (changes.returned if earlier else changes.changed).append((draw, stored_draw(old)))
        if not log.has(draw.number, content(old.get("raw"))):
            replaced.append((draw.number, stored_draw(old)))
    return edited, edited_ids, replaced


class _RevisionLog:
    """The versions each draw had before (read once, only if some draw was edited)."""

    def __init__(self, db: Tables):
        self.db = db
        self._versions: dict[str, list[Any]] | None = None

    def has(self, number: str, version: Any) -> bool:
        if self._versions is None:
            self._versions = {}
            for doc in self.db.table(REVISIONS).all():
                self._versions.setdefault(normal_number(doc["number"]), []).append(
                    content((doc.get("record") or {}).get("raw"))
                )
        return version in self._versions.get(number, ())


def recognise(db: Tables, streams: StreamMap, now: datetime) -> list[tuple[Draw, StoredDraw]]:
    """Draws stored as `other` whose name `streams` now knows: re-classified in this transaction.

    Returns (draw as re-classified, record as it was).  Each draw leaves `other` once, so a
    mapping that changes again later re-classifies nothing twice."""
    table = db.table(DRAWS)
    found = [
        (doc, code)
        for doc in table.all()
        if doc["stream"] == OTHER and (code := streams.code_of(doc["program"])) not in (None, OTHER)
    ]
    if not found:
        return []
    seen = stamp(now)
    updates = {doc["number"]: {"stream": code, "recognised_at": seen, "stream_was": OTHER} for doc, code in found}
    table.update(lambda doc: doc.update(updates[doc["number"]]), doc_ids=[doc.doc_id for doc, _ in found])
    return [(Draw.from_record(stored_draw(doc | updates[doc["number"]])), stored_draw(doc)) for doc, _ in found]


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
        doc for doc in db.table(DRAWS).all() if (not wanted or doc["stream"] in wanted) and low <= doc["date"] <= high
    ]
    rows.sort(key=draw_order, reverse=True)
    return rows[:limit] if limit else rows


def find_draw(db: Tables, number: str) -> dict[str, Any] | None:
    number = normal_number(number)
    for doc in db.table(DRAWS).all():
        if normal_number(doc["number"]) == number:
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
        out.append(
            {
                "stream": stream,
                "name": name,
                "draws": len(docs),
                "last": docs[0]["date"],
                "numbers": [d["number"] for d in docs],
            }
        )
    out.sort(key=lambda n: n["last"], reverse=True)  # the wording in use now first
    return out


def revisions_of(db: Tables, number: str) -> list[dict[str, Any]]:
    number = normal_number(number)
    return [doc for doc in db.table(REVISIONS).all() if normal_number(doc["number"]) == number]
