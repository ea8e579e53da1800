"""A subscriber may give a CRS profile instead of a score: kept (compact JSON, only what scoring
needs) in the subscriber's own row, so unsubscribing erases it with the row; beside it the most
the profile can score in the years ahead, so matching a draw scores only the profiles that may
reach its cut-off.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:  # SQLite: batch mode; PostgreSQL: ALTER TABLE
        batch.add_column(sa.Column("profile", sa.Text, nullable=True))
        batch.add_column(sa.Column("profile_ceiling", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("profile_ceiling")
        batch.drop_column("profile")
