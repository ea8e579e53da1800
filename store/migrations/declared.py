"""Every table the code declares, stage by stage: the target Alembic's autogenerate compares the
migrations with (env.py; tests/test_migrations.py checks that they match exactly)."""

from crswatch.notifier.tables import metadata as notifier_tables
from crswatch.store.kv import metadata as kv_tables
from crswatch.store.limits import metadata as limit_tables
from crswatch.subscribers.tables import metadata as subscriber_tables

DECLARED = [kv_tables, limit_tables, subscriber_tables, notifier_tables]
