"""Where a store is: its URL checked and normalised (SQLite or PostgreSQL through psycopg, the
password masked for display), the default SQLite file beside the draws database, and the file a
SQLite URL names.

What a command needs to name, show or prepare a store before it opens one; the engine, its
transactions and the schema check are `sql.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import make_url

from .errors import StoreError, StoreURLError


@dataclass(frozen=True)
class Where:
    url: str  # as given (with its password: never printed)
    shown: str  # with the password masked
    dialect: str  # sqlite | postgresql


def where(url: str) -> Where:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StoreURLError(
            "the store URL is not a database URL (expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB)"
        ) from None
    if parsed.drivername in ("postgres", "postgres+psycopg"):
        # libpq's and Heroku's spelling of PostgreSQL (SQLAlchemy dropped the alias): the same server
        parsed = parsed.set(drivername="postgresql+psycopg")
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


def sqlite_file(place: Where) -> Path | None:
    """The file a SQLite place names (None for an in-memory store)."""
    database = make_url(place.url).database
    return Path(database).expanduser() if database and database != ":memory:" else None


def require_folder(path: Path) -> None:
    """A typo is refused, like --db's: no new store in a new folder."""
    if not path.parent.is_dir():
        raise StoreError(f"the folder of the store {path} does not exist (create it, or correct --store)")


def sqlite_missing(url: str) -> bool:
    """True when `url` names a SQLite file that does not exist yet."""
    path = sqlite_path(url)
    return path is not None and not path.exists()


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite store URL names (None for PostgreSQL or an in-memory store)."""
    place = where(url)
    return sqlite_file(place) if place.dialect == "sqlite" else None
