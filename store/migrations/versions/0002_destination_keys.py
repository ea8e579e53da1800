"""Channel keys name the destination, not the URL's spelling: recompute them (and the outbox's).

Two channels of one subscriber that name one destination keep the first; a destination two
subscribers share (made before this rule) stays with the older one, and the other keeps its old
key until it is changed (nothing is deleted by a migration).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from crswatch.subscribers.identity import destination_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    channels = sa.table("channels", sa.column("key"), sa.column("subscriber"), sa.column("url"), sa.column("position"))
    deliveries = sa.table("deliveries", sa.column("channel"), sa.column("status"))
    rows = conn.execute(
        sa.text(
            "SELECT c.key, c.subscriber, c.url FROM channels c JOIN subscribers s ON s.id = c.subscriber ORDER BY s.created_at, c.position"
        )
    ).all()
    taken = {key for key, _, _ in rows}
    for old, subscriber, url in rows:
        new = destination_key(url)
        if new == old:
            continue
        if new in taken:
            continue  # another channel (older) already names this destination
        conn.execute(sa.update(channels).where(channels.c.key == old).values(key=new))
        conn.execute(
            sa.update(deliveries)
            .where(deliveries.c.channel == old, deliveries.c.status.in_(("queued", "failed")))
            .values(channel=new)
        )
        taken.discard(old)
        taken.add(new)


def downgrade() -> None:
    pass  # the old keys were hashes of the URL's spelling: nothing to go back to
