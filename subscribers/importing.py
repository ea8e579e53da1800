"""Subscribers imported from CSV: every row validated first, then stored in one batch (a row whose
channel is already subscribed updates that subscriber), so a bad row imports nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from . import store, validate
from .manage import Defaults, merged, new_subscriber, with_profile
from .model import Subscriber
from .profile import check as check_profile
from .validate import ChannelCheck, Invalid

IMPORT_COLUMNS = ("name", "score", "within", "streams", "profile_created", "channels")
OPTIONAL_COLUMNS = (
    "language",
    "profile",
    "cadence",
    "pool_alerts",
)  # may be left out of the header; profile: a CRS profile as a JSON object


def import_csv(
    tx: Connection, text: str, *, check: ChannelCheck, defaults: Defaults, now: datetime | None = None
) -> tuple[int, int]:
    """Import rows `name,score,within,streams,profile_created,channels` in one batch.

    All rows are validated first; any bad row → nothing imported and `Invalid` lists every bad
    row with its line number.  A row whose channel is already subscribed updates that
    subscriber.  Returns (created, updated).
    """
    now = now or datetime.now(UTC)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(
            [f"line 1: the header lacks column(s) {', '.join(missing)}; expected: {','.join(IMPORT_COLUMNS)}"]
        )
    problems: list[str] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        extra = row.get(None)  # csv.DictReader's restkey: cells past the header's last column
        if extra:
            problems.append(f"line {line}: {len(extra)} more cell{'s' if len(extra) > 1 else ''} than the header's {len(reader.fieldnames or [])} "
                            "columns (a comma inside a cell, as in to=a,b? put that cell in double quotes)")  # fmt: skip
            continue
        try:
            values = _row_values(row, check, now, defaults.choices)
            with_profile(values, now, defaults.rules)
        except Invalid as exc:
            problems += [f"line {line}: {p}" for p in exc.problems]
            continue
        for url in (c.url for c in values["channels"]):
            if url in seen:
                problems.append(f"line {line}: a channel repeats the one on line {seen[url]}")
            seen.setdefault(url, line)
        rows.append((line, values))
    if problems:
        raise Invalid(problems)
    return _store_rows(tx, [v for _, v in rows], defaults, now)


def _row_values(row: dict[str, Any], check: ChannelCheck, now: datetime, choices: tuple[str, ...]) -> dict[str, Any]:
    cell = {k: (row.get(k) or "").strip() for k in IMPORT_COLUMNS + OPTIONAL_COLUMNS}
    return validate.collect(
        {
            "name": lambda: validate.name(cell["name"]),
            "score": lambda: validate.score(cell["score"]) if cell["score"] or not cell["profile"] else None,
            "profile": lambda: check_profile(cell["profile"]) if cell["profile"] else None,
            "within": lambda: validate.within(cell["within"]) if cell["within"] else None,
            "streams": lambda: validate.streams([cell["streams"]], choices) if cell["streams"] else None,
            "profile_created": lambda: validate.profile_created(cell["profile_created"], now),
            "language": lambda: validate.language(cell["language"]),
            "cadence": lambda: validate.cadence(cell["cadence"]),
            "pool_alerts": lambda: validate.flag(cell["pool_alerts"], "pool_alerts"),
            "channels": lambda: validate.channels(cell["channels"].split(), check),
        }
    )


def _store_rows(tx: Connection, rows: list[dict[str, Any]], defaults: Defaults, now: datetime) -> tuple[int, int]:
    """One batch: one scan of the channel index, one read and one write per touched shard."""
    owner_of = store.owners(tx, (c.url for values in rows for c in values["channels"]))
    existing = store.find_many(tx, set(owner_of.values()))
    taken = store.all_ids(tx)
    new: list[Subscriber] = []
    changed: dict[str, Subscriber] = {}
    for values in rows:
        owners = {owner_of[c.url] for c in values["channels"] if c.url in owner_of}
        if len(owners) > 1:
            raise Invalid([f"a row's channels belong to different subscribers ({', '.join(sorted(owners))})"])
        if owners:
            owner = owners.pop()
            changed[owner] = merged(changed.get(owner) or existing[owner].subscriber, values)
        else:
            new.append(new_subscriber(tx, values, defaults, now, taken))
    store.insert(tx, new)
    store.replace_all(tx, [(existing[i], sub) for i, sub in changed.items()])
    return len(new), len(changed)
