"""Every point in time in one stored form, the one `Moment` writes: UTC with microseconds and a Z
(`2026-01-01T00:00:00.000000Z`), so that text order is time order in every row, as keyset pages
and comparisons in SQL assume.  Earlier releases wrote `subscribers.profile_created` without
microseconds (`2025-09-01T10:00:00Z`), and an upgrade from the first release could leave an
announcement's `first_seen` empty.  Values already in the form are not touched.  An empty value
becomes "long ago", which keeps what SQL made of it (a value, sorting first: a token with an
empty `used` stays used, a delivery with an empty `next_try` stays due), except an empty
`profile_created`, which meant no time and becomes NULL.  Text that is not a time at all is left
as it is.  Rows are rewritten by primary key (these columns have no index: a statement per value
would read the table each time).  No schema change, so the downgrade has nothing to undo: older
code reads this form too (and, while it still runs beside the new, keeps writing
`profile_created` its way, which only that column holds and nothing compares in SQL).

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

#: table → (its primary key, its Moment columns at this revision)
TABLES = {
    "subscribers": (("id",), ("profile_created", "created_at")),
    "pending": (("token_hash",), ("profile_created", "expires", "used")),
    "reminders": (("subscriber", "key"), ("queued_at",)),
    "telegram_links": (("token_hash",), ("profile_created", "expires", "used")),
    "announcements": (("draw", "revision", "kind"), ("first_seen",)),
    "deliveries": (("id",), ("queued_at", "next_try", "sent_at", "claimed_until")),
}
FORM = "____-__-__T__:__:__.______Z"  # LIKE's one-character wildcard, on both engines
LONG_AGO = "0001-01-01T00:00:00.000000Z"


def _normal(text: str, column: str) -> str | None:
    if not text.strip():
        return None if column == "profile_created" else LONG_AGO
    try:
        return stamp(read(text.strip()))
    except (ValueError, OverflowError):
        return text  # not a time: left for an operator to see, as it was


def upgrade() -> None:
    conn = op.get_bind()
    for name, (key, columns) in TABLES.items():
        for column in columns:
            table = sa.table(name, *(sa.column(k) for k in key), sa.column(column, sa.String))
            value = table.c[column]
            odd = conn.execute(
                sa.select(*(table.c[k] for k in key), value).where(value.is_not(None), value.not_like(FORM))
            )
            changes = [{**{f"k_{k}": v for k, v in zip(key, row[:-1])}, "new": new}
                       for row in odd.all() if (new := _normal(row[-1], column)) != row[-1]]  # fmt: skip
            if changes:  # one UPDATE by primary key per row, in the engine's executemany
                where = sa.and_(*(table.c[k] == sa.bindparam(f"k_{k}") for k in key))
                conn.execute(sa.update(table).where(where).values({column: sa.bindparam("new")}), changes)


def downgrade() -> None:
    pass  # the values stay in the one form, which every earlier release reads
