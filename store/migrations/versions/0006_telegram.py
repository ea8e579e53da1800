"""Web sign-ups for Telegram wait for the chat that presses START on their deep link (the token's
hash, its expiry and its use).  A chat's subscriber is found by its channel (telegram://<chat id>)
and a blocked one by its status, so neither needs a table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("within", sa.Integer),
        sa.Column("streams", sa.Text, nullable=False),
        sa.Column("profile_created", sa.String(40)),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("expires", sa.String(40), nullable=False),
        sa.Column("used", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("telegram_links")
