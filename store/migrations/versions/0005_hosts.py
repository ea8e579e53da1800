"""A claim names its holder's host and process in columns of their own, so that releasing a dead
process's claims compares the host name exactly (a `_` or `%` in a name is no pattern).

`claimed_by` stays the holder's whole name ("host:pid"), which only the holder compares with its
own; the claims held at the upgrade are split once, here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:  # SQLite: batch mode; PostgreSQL: ALTER TABLE
        batch.add_column(sa.Column("claimed_host", sa.String(80)))
        batch.add_column(sa.Column("claimed_pid", sa.Integer))
    deliveries = sa.table(
        "deliveries", sa.column("id"), sa.column("claimed_by"), sa.column("claimed_host"), sa.column("claimed_pid")
    )
    conn = op.get_bind()
    for id_, holder in conn.execute(
        sa.select(deliveries.c.id, deliveries.c.claimed_by).where(deliveries.c.claimed_by.is_not(None))
    ).all():
        host, _, pid = holder.rpartition(":")
        values = {"claimed_host": host, "claimed_pid": int(pid)} if host and pid.isdigit() else {"claimed_host": holder}
        conn.execute(sa.update(deliveries).where(deliveries.c.id == id_).values(values))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_pid")
        batch.drop_column("claimed_host")
