"""Every point in time in one stored form, the one `Moment` writes: UTC with microseconds and a Z
(`2026-01-01T00:00:00.000000Z`), so that text order is time order in every row, as keyset pages
and comparisons in SQL assume.  Earlier releases wrote some columns without microseconds
(`profile_created`: `2025-09-01T10:00:00Z`), and an upgrade from the first release could leave an
announcement's `first_seen` empty.  Values already in the form are not touched; an empty one
becomes "long ago" where a value is required (it sorted first as text, as that does) and NULL
where it is not (it read as no value); text that is not a time at all is left as it is.  No
schema change, so the downgrade has nothing to undo: older code reads this form too.

Revision ID: moments
Revises: cadence
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from crswatch.store.moment import read, stamp

revision = "moments"
down_revision = "cadence"
branch_labels = None
depends_on = None

#: table → (column, whether it may be NULL), every Moment column at this revision
COLUMNS = {
    "subscribers": (("profile_created", True), ("created_at", False)),
    "pending": (("profile_created", True), ("expires", False), ("used", True)),
    "reminders": (("queued_at", False),),
    "telegram_links": (("profile_created", True), ("expires", False), ("used", True)),
    "announcements": (("first_seen", False),),
    "deliveries": (("queued_at", False), ("next_try", True), ("sent_at", True), ("claimed_until", True)),
}
FORM = "____-__-__T__:__:__.______Z"  # LIKE's one-character wildcard, on both engines
LONG_AGO = "0001-01-01T00:00:00.000000Z"


def _normal(text: str, nullable: bool) -> str | None:
    if not text.strip():
        return None if nullable else LONG_AGO
    try:
        return stamp(read(text.strip()))
    except (ValueError, OverflowError):
        return text  # not a time: left for an operator to see, as it was


def upgrade() -> None:
    conn = op.get_bind()
    for name, columns in COLUMNS.items():
        for column, nullable in columns:
            table = sa.table(name, sa.column(column, sa.String))
            value = table.c[column]
            odd = conn.execute(sa.select(value).distinct().where(value.is_not(None), value.not_like(FORM))).scalars()
            changes = [{"old": text, "new": new} for text in odd.all() if (new := _normal(text, nullable)) != text]
            if changes:  # one statement per distinct value (profiles share few), by the engine's executemany
                conn.execute(
                    sa.update(table).where(value == sa.bindparam("old")).values({column: sa.bindparam("new")}), changes
                )


def downgrade() -> None:
    pass  # the values stay in the one form, which every earlier release reads
