"""One SQL engine for crswatch's private state, through SQLAlchemy Core, with Alembic migrations.

- **SQLite** (the default): one file beside the draws database, WAL mode, mode 0600; write
  transactions start with `BEGIN IMMEDIATE` so that two processes never both hold a read snapshot
  they then try to upgrade to a write (which SQLite would refuse with "database is locked").
- **PostgreSQL** across machines: `postgresql+psycopg://user:password@host/db`.

One code path serves both.  `Store.write()` and `Store.read()` hand out a Connection inside a
transaction; `Store.open()` migrates the schema to the newest version first (Alembic, under a lock:
several processes may start at once).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url

from .errors import StoreError, StoreURLError

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class Where:
    url: str  # as given (with its password: never printed)
    shown: str  # with the password masked
    dialect: str  # sqlite | postgresql


def where(url: str) -> Where:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StoreURLError("the store URL is not a database URL (expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB)") from None
    dialect = parsed.get_backend_name()
    if dialect not in ("sqlite", "postgresql"):
        raise StoreURLError(f"the store must be SQLite or PostgreSQL, not {dialect!r}")
    if dialect == "postgresql":
        if "+" in parsed.drivername and parsed.get_driver_name() != "psycopg":
            raise StoreURLError("use the psycopg driver for PostgreSQL: postgresql+psycopg://USER:PASSWORD@HOST/DB")
        parsed = parsed.set(drivername="postgresql+psycopg")  # the one driver crswatch installs
        url = parsed.render_as_string(hide_password=False)
    return Where(url, parsed.render_as_string(hide_password=True), dialect)


def default_url(draws_db: Path) -> str:
    """The embedded default: `<draws database without .json>.sqlite` beside it."""
    name = draws_db.name[: -len(".json")] if draws_db.name.endswith(".json") else draws_db.name
    return f"sqlite:///{draws_db.with_name(name + '.sqlite')}"


class Store:
    """The SQL store: an engine, migrated on open."""

    def __init__(self, url: str):
        self.where = where(url)
        self.engine = _engine(self.where)
        self._migrated = False

    @property
    def dialect(self) -> str:
        return self.where.dialect

    def open(self) -> Store:
        if not self._migrated:
            migrate(self)
            self._migrated = True
        return self

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
        """Serialise with other processes for the rest of this write transaction (PostgreSQL:
        an advisory lock; SQLite: the write transaction already is exclusive)."""
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})

    def dispose(self) -> None:
        self.engine.dispose()


def _engine(place: Where) -> Engine:
    if place.dialect == "sqlite":
        url = make_url(place.url)
        if url.database and url.database != ":memory:":
            path = Path(url.database).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private from the first byte
            except OSError as error:
                raise StoreError(f"cannot create the store {path}: {error.strerror}") from None
        engine = create_engine(place.url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, as SQLAlchemy's recipe says
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: a power loss may lose the last commits, never corrupt
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA secure_delete=ON")  # erased values (a sent confirmation's link) are zeroed, not left in free pages
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("crswatch_write") else "BEGIN")

        return engine
    return create_engine(place.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


@contextmanager
def _errors(store: Store) -> Iterator[None]:
    """A database failure becomes one line naming the store (password masked)."""
    try:
        yield
    except exc.OperationalError as error:
        raise StoreError(f"cannot use the store {store.where.shown}: {_first_line(error.orig or error)}") from None
    except exc.ProgrammingError as error:
        raise StoreError(f"the store {store.where.shown} is not a usable crswatch store: {_first_line(error.orig or error)}") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def migrate(store: Store) -> None:
    """Bring the schema to the newest version (Alembic), once, whoever starts first.

    Alembic's documented way to migrate on a connection of one's own: the connection goes to
    `env.py` through `Config.attributes` (see migrations/env.py)."""
    if _current(store) == head_revision():
        return  # the usual case, answered without loading Alembic (every command opens the store)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _errors(store), store.engine.connect().execution_options(crswatch_write=True) as conn, conn.begin():
        store.lock(conn, "crswatch-migrate")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def head_revision() -> str:
    """The newest migration's revision: the scripts are named `NNNN_what.py`, in order, and each
    names its revision (`revision = "0003"`, or a word such as `"telegram"`)."""
    newest = max((MIGRATIONS / "versions").glob("[0-9]*_*.py"), key=lambda path: path.name.split("_", 1)[0])
    named = re.search(r'^revision = "([^"]+)"', newest.read_text(encoding="utf-8"), re.MULTILINE)
    return named.group(1) if named else newest.name.split("_", 1)[0]


def _current(store: Store) -> str | None:
    """The schema revision the store is at, or None when it has none yet (or cannot say)."""
    try:
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except exc.DBAPIError:
        return None  # no table yet, or no server: the migration says which, in one line
