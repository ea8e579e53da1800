"""Every subscriber and pending sign-up has a language for its messages (en or fr; en for those
made before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("subscribers", "pending"):
        with op.batch_alter_table(table) as batch:  # SQLite: batch mode; PostgreSQL: ALTER TABLE
            batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    for table in ("subscribers", "pending"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")
