"""Each subscriber (and each web or Telegram sign-up waiting for confirmation) chooses how often
to hear from crswatch: `instant` (every alert at once, as before), `daily` or `weekly` (a digest;
an invitation still goes out at once), and whether to hear when IRCC publishes a new pool
distribution (`pool_alerts`, off unless asked for).  Both columns have defaults, so rows made
before keep today's behaviour and older processes that do not read them keep working.

Revision ID: cadence
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "cadence"
down_revision = "reminders"
branch_labels = None
depends_on = None

TABLES = ("subscribers", "pending", "telegram_links")


def upgrade() -> None:
    # plain ADD COLUMN on both engines (a constant default): SQLite's batch mode would copy and drop
    # `subscribers`, and the drop would cascade to every channel
    for table in TABLES:
        op.add_column(table, sa.Column("cadence", sa.String(8), nullable=False, server_default="instant"))
        op.add_column(table, sa.Column("pool_alerts", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("pool_alerts")
            batch.drop_column("cadence")
