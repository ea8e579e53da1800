"""The feed guard: the rules that hold a suspicious round for the operator instead of storing and
alerting it (a round listed twice with different data, a feed that renumbers its past, too many
new draws at once, a new draw far older than the newest, an edit that moves a draw to another day
or stream), and what a merge found (`Changes`).  `draws.table.merge_draws` applies them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson

from .record import Draw, Malformed, StoredDraw, draw_order
from .streams import OTHER
from .text import normal_number

#: `check --accept-new all`: store and alert every new draw held in this check.
ACCEPT_ALL = "all"


@dataclass(frozen=True)
class Rules:
    """When new draws are held instead of alerted ([fetch] max_new and max_back_days)."""

    max_new: int = 3  # more new draws than this, dated on or before the newest stored: a renumbered feed
    max_back: timedelta = timedelta(days=28)  # a "new" draw older than the newest stored by more


@dataclass
class Changes:
    """What one merge did: draws first seen now, draws IRCC edited, and how many stayed put."""

    new: list[Draw] = field(default_factory=list)
    changed: list[tuple[Draw, StoredDraw]] = field(default_factory=list)  # (draw, old record)
    unchanged: int = 0
    malformed: list[Malformed] = field(default_factory=list)  # held: unreadable, implausible, or an edit to look at
    recognised: list[tuple[Draw, StoredDraw]] = field(default_factory=list)  # (draw, record while `other`)
    stored: dict[str, StoredDraw] = field(
        default_factory=dict
    )  # number → the record as now stored, new and changed ones
    returned: list[tuple[Draw, StoredDraw]] = field(
        default_factory=list
    )  # edited back to an earlier version: no correction
    renumbered: list[tuple[str, str]] = field(
        default_factory=list
    )  # (number in the feed, number stored) of the same draw

    def new_records(self) -> list[tuple[Draw, StoredDraw]]:
        return [(draw, self.stored[draw.number]) for draw in self.new]

    def changed_records(self) -> list[tuple[Draw, StoredDraw, StoredDraw]]:
        """(draw, record now, record before) for every edited draw."""
        return [(draw, self.stored[draw.number], old) for draw, old in self.changed]

    def summary(self) -> str:
        text = f"{len(self.new)} new, {len(self.changed)} changed, {self.unchanged} unchanged"
        if self.returned:
            text += f", {len(self.returned)} back to an earlier version"
        if self.renumbered:
            text += f", {len(self.renumbered)} renumbered"
        if self.recognised:
            text += f", {len(self.recognised)} recognised"
        if self.malformed:
            text += f", {len(self.malformed)} held"
        return text


def content(raw: Any) -> Any:
    """A round as compared with its stored copy: its number normalised (a respelt number is no edit)."""
    if isinstance(raw, dict) and isinstance(raw.get("drawNumber"), str | int):
        return raw | {"drawNumber": normal_number(str(raw["drawNumber"]))}
    return raw


def listed_once(draws: Iterable[Draw], accepted: set[str], changes: Changes) -> list[Draw]:
    """Each number once.  A repeated round with the same data is one round; with different data
    neither copy can be trusted, so the number is held (unless accepted: the first copy wins)."""
    copies: dict[str, list[Draw]] = {}
    for draw in draws:
        copies.setdefault(draw.number, []).append(draw)
    out = []
    for number, group in copies.items():
        versions = {orjson.dumps(content(d.raw), option=orjson.OPT_SORT_KEYS) for d in group}
        if len(versions) > 1 and number not in accepted:
            changes.malformed.append(
                Malformed(
                    -1,
                    number,
                    f"#{number} is listed {len(group)} times with different data: held until the feed lists it once "
                    f"(store the first copy with: crswatch check --accept-edit {number})",
                )  # fmt: skip
            )
            continue
        out.append(group[0])
    return out


def _identity(date: str, program: str, crs: Any, invitations: Any) -> tuple[str, str, str, str]:
    return date, " ".join(program.split()).casefold(), str(crs), str(invitations)


def renumbered(candidates: list[Draw], unlisted: Sequence[dict[str, Any]], changes: Changes) -> list[Draw]:
    """The candidates that are really new: one that matches a stored draw the feed no longer lists
    on date, program, cut-off and size is that draw under another number, not a new draw."""
    index = {_identity(doc["date"], doc["program"], doc["crs"], doc["invitations"]): doc for doc in unlisted}
    new = []
    for draw in candidates:
        doc = index.pop(_identity(draw.date.isoformat(), draw.program, draw.crs, draw.invitations), None)
        if doc is None:
            new.append(draw)
        else:
            changes.renumbered.append((draw.number, doc["number"]))
            changes.unchanged += 1
    return new


def hold_new(
    new: list[Draw], docs: Sequence[dict[str, Any]], accept: set[str], rules: Rules, changes: Changes
) -> list[Draw]:
    """The new draws that may be stored and alerted; the others are held (see `merge_draws`).

    Only draws dated on or before the newest stored one count as a mass change: draws after it
    are what a check finds after days of downtime, while a renumbered feed makes the past new."""
    accepted = {normal_number(number) for number in accept}
    if ACCEPT_ALL in accepted:  # "all", "ALL"
        return new
    newest = max(date.fromisoformat(doc["date"]) for doc in docs)
    past = sorted((d for d in new if d.number not in accepted and d.date <= newest), key=draw_order)
    if len(past) > rules.max_new:
        sample = ", ".join(f"#{d.number}" for d in past[:3]) + (f" … #{past[-1].number}" if len(past) > 3 else "")
        changes.malformed.append(
            Malformed(
                -1,
                None,
                f"{len(past)} draws dated on or before the newest stored one ({newest}) would be new at once ({sample}), "
                f"more than {rules.max_new} ([fetch] max_new): held as a possible renumbering or mass change, nobody alerted "
                "(store and alert them with: crswatch check --accept-new all)",
            )  # fmt: skip
        )
        held = {d.number for d in past}
        return [d for d in new if d.number not in held]
    kept = []
    for draw in new:
        days = (newest - draw.date).days
        if draw.number not in accepted and days > rules.max_back.days:
            changes.malformed.append(
                Malformed(
                    -1,
                    draw.number,
                    f"#{draw.number} would be new but is dated {draw.date}, {days} days before the newest stored draw: "
                    f"held as a possible renumbering (store and alert it with: crswatch check --accept-new {draw.number})",
                )  # fmt: skip
            )
        else:
            kept.append(draw)
    return kept


def doubtful_edit(old: dict[str, Any], draw: Draw) -> str | None:
    """Why an edit of a stored draw needs an operator's look (another date or stream), or None.

    Dates are compared as dates: IRCC once rewrote "2023-04-12" as "12-04-2023", the same day.
    A draw stored as `other` may take a known stream: that is the name being recognised."""
    if old.get("date") != draw.date.isoformat():
        return f"#{draw.number} moved from {old.get('date')} to {draw.date.isoformat()}"
    if old.get("stream") not in (draw.stream, OTHER):
        return f"#{draw.number} moved from stream {old.get('stream')} to {draw.stream}"
    return None
