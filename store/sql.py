"""One SQL engine for crswatch's private state, through SQLAlchemy Core, with Alembic migrations.

- **SQLite** (the default): one file beside the draws database, WAL mode, mode 0600; write
  transactions start with `BEGIN IMMEDIATE` so that two processes never both hold a read snapshot
  they then try to upgrade to a write (which SQLite would refuse with "database is locked").
- **PostgreSQL** across machines: `postgresql+psycopg://user:password@host/db`.

One code path serves both.  `Store.write()` and `Store.read()` hand out a Connection inside a
transaction.  `Store.open()` checks the schema's revision first (Alembic's `alembic_version`):

- a store at the code's revision opens;
- a store newer than the code (another host was upgraded first) is refused: `SchemaAhead`;
- a store older than the code is migrated on the spot when it is a SQLite file (one host, one
  process tree: nobody else runs older code on it), and refused on PostgreSQL (`SchemaBehind`):
  a shared store changes only on command, `crswatch db upgrade` (`Store.upgrade()`), so that the
  first upgraded host never migrates the schema under the others.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, inspect, text

from .errors import SchemaAhead, SchemaBehind, StoreError
from .url import Where, require_folder, sqlite_file, where

MIGRATIONS = Path(__file__).with_name("migrations")


class Store:
    """The SQL store: an engine whose schema is checked (SQLite: migrated) on open."""

    def __init__(self, url: str):
        self.where = where(url)
        self.engine = _engine(self.where)
        self._migrated = False

    @property
    def dialect(self) -> str:
        return self.where.dialect

    def open(self) -> Store:
        if not self._migrated:
            _check_schema(self, migrate_older=self.dialect == "sqlite")
            self._migrated = True
        return self

    def recheck(self) -> None:
        """For a long-lived process: refuse a store another host has upgraded past this code
        meanwhile (one query), instead of failing later on a column it does not know."""
        _refuse_newer(self, current_revision(self))

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate the schema to the code's revision on command (any engine); (before, after).
        A store newer than the code is refused, never downgraded."""
        before = current_revision(self)
        _refuse_newer(self, before)
        if before != head_revision():
            migrate(self)
        self._migrated = True
        return before, head_revision()

    @contextmanager
    def write(self, commit: bool = True) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on an exception (or
        always, with commit=False: a rehearsal, `--dry-run`)."""
        self.open()
        with _errors(self), self.engine.connect().execution_options(crswatch_write=True) as conn:
            transaction = conn.begin()
            try:
                yield conn
            except BaseException:
                transaction.rollback()
                raise
            if commit:
                transaction.commit()
            else:
                transaction.rollback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot)."""
        self.open()
        with _errors(self), self.engine.connect() as conn, conn.begin():
            yield conn

    def lock(self, conn: Connection, name: str) -> None:
        """Serialise with other processes for the rest of this write transaction (see `lock`)."""
        lock(conn, name)

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and truncate it, so that values just
        erased (a sent confirmation's link) do not linger in the `-wal` file's old frames.  Best
        effort: a reader holding an old snapshot makes it wait (busy timeout), never fail a send."""
        if self.dialect != "sqlite":
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except exc.DBAPIError:
            pass  # the next checkpoint (or the last connection closing) does it

    def dispose(self) -> None:
        self.engine.dispose()


def lock(conn: Connection, name: str) -> None:
    """Serialise with other processes for the rest of this write transaction (PostgreSQL: an
    advisory lock; SQLite: a write transaction, begun IMMEDIATE, already is exclusive)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def _engine(place: Where) -> Engine:
    # hide_parameters: an error (a bug) never carries the rows it was writing (names, token hashes)
    if place.dialect == "sqlite":
        path = sqlite_file(place)
        if path is not None:
            require_folder(path)
            try:
                if not path.exists():
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private from the first byte
            except OSError as error:
                raise StoreError(f"cannot create the store {path}: {error.strerror}") from None
        engine = create_engine(place.url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, as SQLAlchemy's recipe says
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: a power loss may lose the last commits, never corrupt
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(
                "PRAGMA secure_delete=ON"
            )  # erased values (a sent confirmation's link) are zeroed, not left in free pages
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("crswatch_write") else "BEGIN")

        return engine
    return create_engine(place.url, pool_pre_ping=True, connect_args={"connect_timeout": 10}, hide_parameters=True)


@contextmanager
def _errors(store: Store) -> Iterator[None]:
    """A database failure becomes one line naming the store (password masked)."""
    try:
        yield
    except exc.OperationalError as error:
        raise StoreError(f"cannot use the store {store.where.shown}: {_first_line(error.orig or error)}") from None
    except exc.ProgrammingError as error:
        raise StoreError(
            f"the store {store.where.shown} is not a usable crswatch store: {_first_line(error.orig or error)}"
        ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _check_schema(store: Store, migrate_older: bool) -> None:
    current = current_revision(
        store
    )  # the usual case is answered without loading Alembic (every command opens the store)
    if current == head_revision():
        return
    _refuse_newer(store, current)
    if not migrate_older:
        state = (
            "has no crswatch schema yet"
            if current is None
            else f"is at schema revision {current}, older than this crswatch's {head_revision()}"
        )
        raise SchemaBehind(
            f"the store {store.where.shown} {state}: run `crswatch db upgrade` (once, from one host) before using it"
        )
    migrate(store)


def _refuse_newer(store: Store, current: str | None) -> None:
    if current is not None and current not in revisions():
        raise SchemaAhead(f"the store {store.where.shown} is at schema revision {current}, newer than this crswatch knows "
                          f"(up to {head_revision()}): another host runs a newer crswatch; upgrade this one too")  # fmt: skip


def migrate(store: Store) -> None:
    """Bring the schema to the newest version (Alembic), once, whoever starts first.

    Alembic's documented way to migrate on a connection of one's own: the connection goes to
    `env.py` through `Config.attributes` (see migrations/env.py)."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config()
    with _errors(store), store.engine.connect().execution_options(crswatch_write=True) as conn, conn.begin():
        store.lock(conn, "crswatch-migrate")
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError:  # another host wrote a revision this code does not know, meanwhile
            _refuse_newer(store, current_revision(store))
            raise


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def revisions() -> list[str]:
    """The migrations in order, oldest first, read from each script's own `revision` and
    `down_revision` lines (without loading Alembic: every command asks)."""
    parents: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision\s*=\s*"([^"]+)"', source, re.M)
        if revision:
            parent = re.search(r'^down_revision\s*=\s*"([^"]+)"', source, re.M)
            parents[revision.group(1)] = parent.group(1) if parent else None
    child = {parent: revision for revision, parent in parents.items()}
    chain: list[str] = []
    at: str | None = None
    while at in child:
        at = child[at]
        chain.append(at)
    if len(chain) != len(parents):
        raise RuntimeError(f"the migrations do not form one chain: {sorted(parents)}")  # a packaging bug
    return chain


def head_revision() -> str:
    """The newest migration."""
    return revisions()[-1]


def current_revision(store: Store) -> str | None:
    """The schema revision the store is at, or None when it has none yet."""
    with _errors(store), store.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
