"""The run's own small records in the `meta` table: feed validators and the last check's status."""

from __future__ import annotations

from typing import Any

from tinydb import Query, TinyDB

from scraper.items import stamp

META = "meta"


def get_meta(db: TinyDB, key: str) -> dict[str, Any]:
    doc = db.table(META).get(Query().key == key)
    return dict(doc) if doc else {}


def put_meta(db: TinyDB, key: str, values: dict[str, Any]) -> None:
    db.table(META).upsert({"key": key, **values}, Query().key == key)


iso = stamp
