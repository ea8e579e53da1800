"""Opening a database made by an earlier release: its private state moves into the SQL store.

Up to 0.1, subscribers, sign-ups, the outbox (with its journal), the keys and the status lived in
TinyDB files under `<db>.d/` and in the draws file's `meta` table.  On the first use of the store,
all of it is copied in one transaction (a failure leaves the store as it was and the old files in
place), then `<db>.d/` is renamed `<db>.d.migrated` for the operator to remove once satisfied.
Every draw already stored is recorded as announced, so nothing is alerted twice after the upgrade.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from crswatch.draws.record import Draw, iso, stored_draw
from crswatch.store import kv
from crswatch.store.draws import Database
from crswatch.store.errors import DatabaseError, StoreError
from crswatch.store.moment import read
from crswatch.store.sql import Store
from crswatch.subscribers.model import ACTIVE, INSTANT, Channel, Subscriber, hash_token

log = logging.getLogger("crswatch")


MOVED = "upgrade:0.1"  # the store's record that 0.1's files were moved in (kv)


class NewStore(StoreError):
    """A draws file with history met a new, empty store: a mistyped --store, most likely."""


def upgrade(database: Database, store: Store, adopt: bool = False) -> None:
    """Move an earlier release's state into `store` (once; a no-op afterwards).

    Resumable: the move and its record (`MOVED`) commit together, and the folder is renamed after;
    a process stopped between the two finds the record, and only renames.

    A draws file that already has history never meets a new, empty store silently (NewStore),
    unless `adopt` (`crswatch --new-store`): that history is then recorded as announced."""
    from crswatch.notifier.outbox import announced_any

    old = database.path.with_name(database.path.name + ".d")
    if not old.is_dir():
        if not database.path.exists():
            return
        with store.read() as conn:
            if announced_any(conn):
                return
    main = _json(database.path) or {}
    draws = list((main.get("draws") or {}).values())
    if draws and not old.is_dir() and not adopt and not _from_01(main):
        raise NewStore(new_store_message(database.path, len(draws), store.where.shown))
    with store.write() as conn:
        store.lock(conn, "crswatch-upgrade")
        if old.is_dir() and not _moved(conn):
            counts = _move(conn, old, main)
            kv.put(conn, MOVED, {"from": str(old), **counts})
            log.warning("moved %s from %s into the store %s", counts, old, store.where.shown)
        if not announced_any(conn) and draws:
            _announce_history(conn, draws)
    if old.is_dir():
        _set_aside(old)


def _set_aside(old: Path) -> None:
    try:
        old.rename(old.with_name(old.name + ".migrated"))
    except FileNotFoundError:
        pass  # another process, upgrading at the same moment, renamed it first
    except OSError as exc:
        raise DatabaseError(f"{old} was moved into the store but cannot be renamed {old.name}.migrated ({exc.strerror}); "
                            "rename or remove it") from None  # fmt: skip


def refuse_new_file(database: Database, url: str, adopt: bool = False) -> None:
    """Before a SQLite store file is made: NewStore when the draws file already has history (so a
    mistyped path makes no file at all)."""
    from crswatch.store.url import sqlite_missing, where

    if adopt or not sqlite_missing(url) or database.path.with_name(database.path.name + ".d").is_dir():
        return
    main = _json(database.path) or {}
    draws = len(main.get("draws") or {})
    if draws and not _from_01(main):
        raise NewStore(new_store_message(database.path, draws, where(url).shown))


def new_store_message(path: Path, draws: int, store: str) -> str:
    return (f"the draws file {path} already holds {draws} draws, but the store {store} is new and empty "
            "(a mistyped --store?); nothing was stored. If this store is meant to start now, run the command "
            "again as `crswatch --new-store …`: those draws are then recorded as announced, and nobody is alerted about them")  # fmt: skip


def _from_01(main: dict[str, Any]) -> bool:
    """A draws file written by 0.1, which kept its check status in the file (now in the store)."""
    return any(doc.get("key") == "status" for doc in (main.get("meta") or {}).values())


def _moved(conn: Connection) -> bool:
    """Whether 0.1's files were already moved into this store (a run stopped before the rename).
    Stores moved by an earlier crswatch have no record, but their announcements or subscribers
    came in the same transaction, and only the move can put anything in while `<db>.d/` exists."""
    from crswatch.notifier.outbox import announced_any, counts
    from crswatch.subscribers.store import count

    return bool(kv.get(conn, MOVED)) or announced_any(conn) or count(conn) > 0 or sum(counts(conn).values()) > 0


def _announce_history(conn: Connection, draws: list[dict[str, Any]]) -> None:
    from crswatch.notifier.message import NEW
    from crswatch.notifier.outbox import announce

    announce(
        conn,
        [
            (
                d["number"],
                0,
                NEW,
                _moment(d.get("first_seen") or d.get("updated_at")) or LONG_AGO,
                Draw.from_record(stored_draw(d)).to_record(),
            )
            for d in draws
        ],
    )


def _move(conn: Connection, old: Path, main: dict[str, Any]) -> dict[str, int]:
    from crswatch.notifier.outbox import Delivery, queue
    from crswatch.notifier.policy import Policy
    from crswatch.subscribers import optin
    from crswatch.subscribers import store as subscribers

    people = [
        _person(_moments(doc, "created_at", "profile_created"))
        for doc in _docs(old, "subscribers-*.json", "subscribers")
    ]
    subscribers.insert(conn, people)
    waiting = list(_docs(old, "pending-*.json", "pending"))
    optin.restore(conn, [_moments({"token_hash": d["h"], "channel": d["channel"], "score": d["score"], "within": d.get("within"), "streams": d.get("streams"),
                          "profile_created": d.get("profile_created"), "expires": d["expires"], "used": d.get("used")}, "profile_created", "expires", "used")
                         for d in waiting])  # fmt: skip
    outbox = {doc["id"]: doc for doc in _docs(old, "outbox.json", "deliveries")}
    for entry in _journal(old / "outbox.journal"):  # results a killed run had not folded in yet
        doc = outbox.get(entry.get("id"))
        if (
            doc is None
            or doc["status"] in ("sent", "dead", "cancelled")
            or entry.get("attempt", 0) <= doc["attempts"]
            and entry.get("result") != "sent"
        ):
            continue
        if entry["result"] == "sent":
            doc.update(
                status="sent", sent_at=entry["at"], attempts=max(doc["attempts"], entry["attempt"]), last_error=""
            )
        elif entry["result"] == "cancelled":
            doc.update(status="cancelled", last_error=entry.get("error", ""))
        else:
            at = datetime.fromisoformat(entry["at"]) + timedelta(seconds=Policy().delay(entry["attempt"]))
            doc.update(
                status="failed",
                attempts=entry["attempt"],
                last_error=entry.get("error", ""),
                next_try=iso(at.astimezone(UTC)),  # (text, like the rest of the old outbox: read below)
            )
    # 0.1 named a channel by a hash of its URL's spelling; now by its destination (subscribers.identity)
    renamed = {_old_hash(c.destination): c.key for person in people for c in person.channels}
    for doc in outbox.values():
        doc["channel"] = renamed.get(doc["channel"], doc["channel"])
    queue(conn, [Delivery.from_doc(_moments(doc, "queued_at", "next_try", "sent_at")) for doc in outbox.values()])
    for name in ("links", "web"):
        key = old / f"{name}.key"
        if key.exists():
            kv.put(conn, f"key:{name}", {"hex": key.read_text().strip()})
    for doc in (main.get("meta") or {}).values():
        if doc.get("key") in ("status", "run"):
            kv.put(conn, doc["key"], {k: v for k, v in doc.items() if k != "key"})
    return {"subscribers": len(people), "deliveries": len(outbox), "pending sign-ups": len(waiting)}


def _person(doc: dict[str, Any]) -> Subscriber:
    """A subscriber as 0.1 stored it in JSON (0.1 knew no profile, cadence or language; before 0.2
    it kept the token itself)."""
    return Subscriber(
        id=doc["id"], name=doc.get("name"), score=doc["score"], within=doc["within"], streams=tuple(doc["streams"]),
        profile_created=doc.get("profile_created"), channels=tuple(Channel.of(c["url"], c["masked"]) for c in doc["channels"]),
        created_at=doc["created_at"], status=doc.get("status", ACTIVE), language=doc.get("language") or "en",
        profile=doc.get("profile"), profile_ceiling=doc.get("profile_ceiling"), reminders=doc.get("reminders"),
        cadence=doc.get("cadence") or INSTANT, pool_alerts=bool(doc.get("pool_alerts")),
        token_hash=doc.get("token_hash") or hash_token(doc["token"]),
    )  # fmt: skip


def _old_hash(url: str) -> str:
    import hashlib

    return hashlib.blake2b(url.strip().encode(), digest_size=12).hexdigest()


def _docs(folder: Path, pattern: str, table: str) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob(pattern)):
        data = _json(path)
        if data is None:
            raise DatabaseError(f"{path} is empty or unreadable; the earlier release's data was left in place")
        yield from (data.get(table) or {}).values()


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return orjson.loads(data) if data.strip() else None
    except orjson.JSONDecodeError as exc:
        raise DatabaseError(f"{path} is corrupt ({exc}); the earlier release's data was left in place") from None


def _journal(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue  # a line cut by a kill: that message counts as in flight
    return entries


#: A draw an earlier release kept without any time was seen before anyone subscribed.
LONG_AGO = datetime.min.replace(tzinfo=UTC)


def _moment(text: str | None) -> datetime | None:
    return read(text) if text else None


def _moments(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    """An earlier release's record, its moments (kept as text) read as the SQL store takes them."""
    return doc | {name: _moment(doc.get(name)) for name in names if name in doc}
