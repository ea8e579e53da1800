"""The notifier stage's tables (created by the store's migrations, read only through this stage)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from crswatch.store.moment import Moment

metadata = MetaData()

#: Each (draw, revision, kind) announced once across every host: planning is idempotent, and the
#: first host to see a draw fixes its "first seen" for everyone.  `record` is the draw as announced.
announcements = Table(
    "announcements", metadata,
    Column("draw", String(16), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("first_seen", Moment(), nullable=False),
    Column("record", Text, nullable=False),
)  # fmt: skip

deliveries = Table(
    "deliveries", metadata,
    Column("id", String(160), primary_key=True),
    Column("draw", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("subscriber", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("masked", Text, nullable=False),
    Column("verdict", String(16)),
    Column("queued_at", Moment(), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try", Moment()),
    Column("last_error", Text, nullable=False),
    Column("sent_at", Moment()),
    Column("previous", Text),
    Column("payload", Text),
    Column("claimed_until", Moment()),
    Column("claimed_by", String(80)),  # the holder's whole name (host:pid), compared only by the holder
    Column("claimed_host", String(80)),  # the holder's host and process, apart: a dead process's claims are
    Column("claimed_pid", Integer),  # released by exact host (store.host), never by a pattern on names
    Index("deliveries_due", "status", "next_try"),
    Index("deliveries_draw", "draw"),
)  # fmt: skip
