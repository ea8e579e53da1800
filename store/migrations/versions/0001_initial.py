"""The private state in SQL: subscribers and their channels, pending sign-ups, the outbox, the
announced draws, rate-limit hits and small named values (status, keys).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = sa.String


def upgrade() -> None:
    op.create_table("meta", sa.Column("key", S(64), primary_key=True), sa.Column("value", sa.Text, nullable=False))
    _subscribers()
    _outbox()
    op.create_table("hits", sa.Column("key", S(200), nullable=False), sa.Column("at", sa.Float, nullable=False))
    op.create_index("hits_key", "hits", ["key", "at"])


def _subscribers() -> None:
    """Subscribers, their channels and pending sign-ups."""
    op.create_table(
        "subscribers",
        sa.Column("id", S(16), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("within", sa.Integer, nullable=False),
        sa.Column("streams", sa.Text, nullable=False),  # JSON list of codes
        sa.Column("profile_created", S(40)),
        sa.Column("created_at", S(40), nullable=False),
        sa.Column("status", S(16), nullable=False),
        sa.Column("token_hash", S(64), nullable=False),
    )
    op.create_index("subscribers_reach", "subscribers", ["status", "score"])
    op.create_table(
        "channels",
        sa.Column("key", S(64), primary_key=True),  # one destination, one subscriber
        sa.Column("subscriber", S(16), sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("masked", sa.Text, nullable=False),
    )
    op.create_index("channels_subscriber", "channels", ["subscriber"])
    op.create_table(
        "pending",
        sa.Column("token_hash", S(64), primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("within", sa.Integer),
        sa.Column("streams", sa.Text, nullable=False),
        sa.Column("profile_created", S(40)),
        sa.Column("expires", S(40), nullable=False),
        sa.Column("used", S(40)),
    )
    op.create_index("pending_expires", "pending", ["expires"])


def _outbox() -> None:
    """The announced draws and the deliveries queued for them."""
    op.create_table(
        "announcements",
        sa.Column("draw", S(16), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("kind", S(16), primary_key=True),
        sa.Column("first_seen", S(40), nullable=False),
        sa.Column("record", sa.Text, nullable=False),  # the draw as announced (JSON), for rendering
    )
    op.create_table(
        "deliveries",
        sa.Column("id", S(160), primary_key=True),  # draw/revision/subscriber/channel[/kind]: one per alert ever
        sa.Column("draw", S(16), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("kind", S(16), nullable=False),
        sa.Column("subscriber", S(64), nullable=False),
        sa.Column("channel", S(64), nullable=False),
        sa.Column("masked", sa.Text, nullable=False),
        sa.Column("verdict", S(16)),
        sa.Column("queued_at", S(40), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", S(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", S(40)),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("sent_at", S(40)),
        sa.Column("previous", sa.Text),  # JSON
        sa.Column("payload", sa.Text),  # JSON: a message rendered in advance (confirmations), dropped once sent
        sa.Column("claimed_until", S(40)),
        sa.Column("claimed_by", S(80)),
    )
    op.create_index("deliveries_due", "deliveries", ["status", "next_try"])
    op.create_index("deliveries_draw", "deliveries", ["draw"])


def downgrade() -> None:
    for table in ("hits", "deliveries", "announcements", "pending", "channels", "subscribers", "meta"):
        op.drop_table(table)
