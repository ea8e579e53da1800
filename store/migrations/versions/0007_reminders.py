"""Reminders: a subscriber's choice (`reminders`: NULL = the default, on for a profile
subscriber), the reminders already queued (one row per subscriber and reminder key, so that each is
queued once however often the check runs and however long the outbox keeps its rows; erased with
the subscriber), and a web sign-up's CRS profile, kept with the pending sign-up until it is
confirmed or expires.

Revision ID: reminders
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "reminders"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("reminders", sa.Boolean, nullable=True))
    with op.batch_alter_table("pending") as batch:
        batch.add_column(sa.Column("profile", sa.Text, nullable=True))
    # matching reads only the subscribers a cut-off may concern: typed score or profile ceiling, plus the margin
    op.create_index(
        "subscribers_reach_ceiling", "subscribers", ["status", sa.text("(coalesce(profile_ceiling, score) + within)")]
    )
    op.create_table(
        "reminders",
        sa.Column("subscriber", sa.String(16), sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("queued_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reminders")
    op.drop_index("subscribers_reach_ceiling", "subscribers")
    with op.batch_alter_table("pending") as batch:
        batch.drop_column("profile")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("reminders")
