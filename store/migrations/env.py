"""Alembic environment.

crswatch migrates on a connection of its own, handed over in `Config.attributes` (store.sql.migrate).
Run by hand (`alembic revision --autogenerate`, `alembic upgrade head` with the repository's
alembic.ini), it connects to `$CRSWATCH_STORE`, else to the ini's `sqlalchemy.url`.  The tables the
code declares are the target, so autogenerate writes only the difference."""

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from crswatch.store.migrations.declared import DECLARED


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=DECLARED, render_as_batch=connection.dialect.name == "sqlite"
    )


if "connection" in context.config.attributes:  # crswatch's own transaction, under its lock
    _configure(context.config.attributes["connection"])
    context.run_migrations()
else:
    url = os.environ.get("CRSWATCH_STORE") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set CRSWATCH_STORE (or sqlalchemy.url in alembic.ini) to the store's URL")
    with create_engine(url).connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
