"""The subscribers stage's tables (created by the store's migrations, read only through this stage)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, false, text

from crswatch.store.moment import Moment

metadata = MetaData()

subscribers = Table(
    "subscribers", metadata,
    Column("id", String(16), primary_key=True),
    Column("name", Text),
    Column("score", Integer, nullable=False),
    Column("within", Integer, nullable=False),
    Column("streams", Text, nullable=False),
    Column("profile_created", Moment()),
    Column("created_at", Moment(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("profile", Text),  # a CRS profile (personal data: only what scoring needs), erased with the row
    Column("profile_ceiling", Integer),  # the most the profile can score from 30 days before it was stored to 10 years after
    Column("reminders", Boolean),  # reminders of a birthday, an expiring test…: NULL = the default (on with a profile)
    Column("cadence", String(8), nullable=False, server_default="instant"),  # instant | daily | weekly (digests)
    Column("pool_alerts", Boolean, nullable=False, server_default=false()),  # tell when a new pool distribution appears
    Index("subscribers_reach", "status", "score"),
    Index("subscribers_reach_ceiling", "status", text("(coalesce(profile_ceiling, score) + within)")),  # what matching filters on
)  # fmt: skip

channels = Table(
    "channels", metadata,
    Column("key", String(64), primary_key=True),
    Column("subscriber", String(16), ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("masked", Text, nullable=False),
    Index("channels_subscriber", "subscriber"),
)  # fmt: skip

pending = Table(
    "pending", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("within", Integer),
    Column("streams", Text, nullable=False),
    Column("profile_created", Moment()),
    Column("expires", Moment(), nullable=False),
    Column("used", Moment()),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("profile", Text),  # a web sign-up's CRS profile (as stored for a subscriber), until confirmed or expired
    Column("cadence", String(8), nullable=False, server_default="instant"),  # instant | daily | weekly (digests)
    Column("pool_alerts", Boolean, nullable=False, server_default=false()),  # tell when a new pool distribution appears
    Index("pending_expires", "expires"),
)  # fmt: skip

#: The reminders queued for each subscriber, by key ("birthday/2027-03-14", "language/first_language/
#: 2027-06-01/60"…): each is queued once, whatever the outbox has pruned since; erased with the subscriber.
reminders = Table(
    "reminders", metadata,
    Column("subscriber", String(16), ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(120), primary_key=True),
    Column("queued_at", Moment(), nullable=False),
)  # fmt: skip


#: Sign-ups made on the web page for Telegram, waiting for the chat that presses START on their
#: deep link (`subscribers.deeplink`): the token's SHA-256, never the token; single use, expiring.
telegram_links = Table(
    "telegram_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("within", Integer),
    Column("streams", Text, nullable=False),
    Column("profile_created", Moment()),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("expires", Moment(), nullable=False),
    Column("used", Moment()),
    Column("cadence", String(8), nullable=False, server_default="instant"),  # instant | daily | weekly (digests)
    Column("pool_alerts", Boolean, nullable=False, server_default=false()),  # tell when a new pool distribution appears
)  # fmt: skip
