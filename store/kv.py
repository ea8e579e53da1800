"""Small named values in the SQL store (the `meta` table): JSON documents and random keys."""

from __future__ import annotations

import secrets as random
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Column, Connection, MetaData, String, Table, Text, select, update

if TYPE_CHECKING:
    from .sql import Store

metadata = MetaData()
meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))


def get(conn: Connection, key: str) -> dict[str, Any]:
    value = conn.scalar(select(meta.c.value).where(meta.c.key == key))
    return orjson.loads(value) if value else {}


def put(conn: Connection, key: str, value: dict[str, Any]) -> None:
    data = orjson.dumps(value).decode()
    if conn.execute(update(meta).where(meta.c.key == key).values(value=data)).rowcount == 0:
        conn.execute(meta.insert().values(key=key, value=data))


def secret(store: Store, name: str) -> bytes:
    """A random 256-bit key kept in the store, made on first use and shared by every host (it
    signs the links in alerts: a link made by one host works on another's `serve`)."""
    key = f"key:{name}"
    with store.read() as conn:
        found = get(conn, key).get("hex")
    if found:
        return bytes.fromhex(found)
    with store.write() as conn:
        store.lock(conn, key)
        found = get(conn, key).get("hex")
        if not found:
            found = random.token_hex(32)
            put(conn, key, {"hex": found})
    return bytes.fromhex(found)
